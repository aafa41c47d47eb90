"""connect() and Client: the k8intel services over gRPC, configured like the `k8i` CLI.

Environment (explicit arguments to connect() win):
  K8I_ENDPOINT                 every service (default 127.0.0.1:7000, the dev stack's front)
  K8I_<BINARY>_ENDPOINT        one binary's services, without a front: K8I_INVENTORY_ENDPOINT,
                               K8I_INGEST_ENDPOINT, K8I_CORRELATION_ENDPOINT,
                               K8I_RECOMMENDATION_ENDPOINT, K8I_COST_ENDPOINT,
                               K8I_NOTIFICATION_ENDPOINT
  K8I_API_KEY                  bearer credential of the read/admin APIs
  K8I_AGENT_TOKEN              bearer credential of IngestService (falls back to K8I_API_KEY)
  K8I_CLIENT_TLS, K8I_CLIENT_TLS_CA_FILE, K8I_CLIENT_TLS_CERT_FILE, K8I_CLIENT_TLS_KEY_FILE,
  K8I_CLIENT_TLS_SERVER_NAME, K8I_CLIENT_INSECURE_PLAINTEXT
                               TLS as the CLI reads it: TLS is on when a file is set; plaintext
                               only to loopback unless K8I_CLIENT_INSECURE_PLAINTEXT=true
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import os
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

import grpc

from k8intel_sdk._gen.grpc.health.v1 import health_pb2, health_pb2_grpc
from k8intel_sdk._gen.k8intel.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    cluster_pb2,
    cluster_pb2_grpc,
    cost_pb2,
    cost_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
    ingest_pb2,
    ingest_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
    recommendations_pb2,
    recommendations_pb2_grpc,
    resources_pb2,
    resources_pb2_grpc,
)
from k8intel_sdk.errors import K8iError

DEFAULT_ENDPOINT = "127.0.0.1:7000"
DEFAULT_TIMEOUT = 30.0

# Client attribute -> (generated modules, service name, the binary that serves it). The
# binary names the K8I_<BINARY>_ENDPOINT override.
SERVICES: Dict[str, Tuple[Any, Any, str, str]] = {
    "admin": (admin_pb2, admin_pb2_grpc, "AdminService", "inventory"),
    "clusters": (cluster_pb2, cluster_pb2_grpc, "ClusterService", "inventory"),
    "resources": (resources_pb2, resources_pb2_grpc, "ResourceService", "inventory"),
    "metrics": (metrics_pb2, metrics_pb2_grpc, "MetricsService", "inventory"),
    "ingest": (ingest_pb2, ingest_pb2_grpc, "IngestService", "ingest"),
    "incidents": (incidents_pb2, incidents_pb2_grpc, "IncidentService", "correlation"),
    "recommendations": (
        recommendations_pb2, recommendations_pb2_grpc, "RecommendationService", "recommendation"),
    "simulation": (
        recommendations_pb2, recommendations_pb2_grpc, "SimulationService", "recommendation"),
    "costs": (cost_pb2, cost_pb2_grpc, "CostService", "cost"),
    "notifications": (
        notifications_pb2, notifications_pb2_grpc, "NotificationService", "notification"),
}
BINARIES = ("inventory", "ingest", "correlation", "recommendation", "cost", "notification")


class ConfigError(ValueError):
    """A bad setting; the message names the variable (or argument) and why."""


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    v = value.lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f'{name}: "{value}" is not a boolean (true/false)')


def is_loopback(target: str) -> bool:
    """Whether a gRPC target is a unix socket or a loopback host (127.0.0.0/8, ::1, localhost)."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    for scheme in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if target.startswith(scheme):
            target = target[len(scheme):]
            break
    host = target
    if target.startswith("["):
        host = target[1:target.find("]")] if "]" in target else target[1:]
    elif target.count(":") == 1:
        host = target.rsplit(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class Settings:
    """Where the services are and how to authenticate; Settings.from_env() reads the variables
    documented at the top of this module."""

    endpoint: str = DEFAULT_ENDPOINT
    endpoints: Dict[str, str] = dataclasses.field(default_factory=dict)  # binary -> endpoint
    api_key: str = ""
    agent_token: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    insecure_plaintext: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        s = cls(
            endpoint=env.get("K8I_ENDPOINT") or DEFAULT_ENDPOINT,
            api_key=env.get("K8I_API_KEY", ""),
            agent_token=env.get("K8I_AGENT_TOKEN", ""),
            ca_file=env.get("K8I_CLIENT_TLS_CA_FILE", ""),
            cert_file=env.get("K8I_CLIENT_TLS_CERT_FILE", ""),
            key_file=env.get("K8I_CLIENT_TLS_KEY_FILE", ""),
            server_name=env.get("K8I_CLIENT_TLS_SERVER_NAME", ""),
        )
        for binary in BINARIES:
            value = env.get(f"K8I_{binary.upper()}_ENDPOINT")
            if value:
                s.endpoints[binary] = value
        any_file = bool(s.ca_file or s.cert_file or s.key_file)
        s.tls = _env_bool(env, "K8I_CLIENT_TLS", any_file)
        s.insecure_plaintext = _env_bool(env, "K8I_CLIENT_INSECURE_PLAINTEXT", False)
        return s

    def endpoint_of(self, binary: str) -> str:
        return self.endpoints.get(binary) or self.endpoint

    def validate(self, target: str) -> None:
        """Raises ConfigError as the CLI refuses: files without TLS, plaintext to a remote host,
        a certificate without its key, unreadable files."""
        if not self.tls:
            for name, value in (("CA_FILE", self.ca_file), ("CERT_FILE", self.cert_file),
                                ("KEY_FILE", self.key_file)):
                if value:
                    raise ConfigError(f"K8I_CLIENT_TLS_{name}: set while K8I_CLIENT_TLS is false")
            if not self.insecure_plaintext and not is_loopback(target):
                raise ConfigError(
                    f'K8I_CLIENT_TLS: plaintext to "{target}", which is not a loopback address: '
                    "set K8I_CLIENT_TLS_CA_FILE (or K8I_CLIENT_TLS=true for the system CAs); "
                    "K8I_CLIENT_INSECURE_PLAINTEXT=true allows plaintext for development")
            return
        if bool(self.cert_file) != bool(self.key_file):
            missing, given = (("CERT_FILE", "KEY_FILE") if not self.cert_file
                              else ("KEY_FILE", "CERT_FILE"))
            raise ConfigError(f"K8I_CLIENT_TLS_{missing}: required with K8I_CLIENT_TLS_{given}")
        for name, value in (("CA_FILE", self.ca_file), ("CERT_FILE", self.cert_file),
                            ("KEY_FILE", self.key_file)):
            if value and not os.access(value, os.R_OK):
                raise ConfigError(f'K8I_CLIENT_TLS_{name}: cannot read "{value}"')


def _read(path: str) -> Optional[bytes]:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` to every call that does not carry one."""

    def __init__(self, token: str):
        self._token = token

    def _details(self, d: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = list(d.metadata or ())
        if self._token and not any(k == "authorization" for k, _ in metadata):
            metadata.append(("authorization", f"Bearer {self._token}"))
        return _CallDetails(d.method, d.timeout, metadata, d.credentials,
                            getattr(d, "wait_for_ready", None), getattr(d, "compression", None))

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


def _map_stream_errors(responses: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from responses
    except grpc.RpcError as e:
        raise K8iError.from_rpc_error(e) from None


class Service:
    """One gRPC service's RPCs as methods named as in the proto (ListPods, Push, ...).

    Unary calls get the client's default timeout unless given one; a failure is raised as
    K8iError (a streaming response raises it while iterating). `stub` is the generated stub
    (on the authenticated channel) for anything else (futures, with_call)."""

    def __init__(self, stub: Any, descriptor: Any, timeout: float):
        self.stub = stub
        self.descriptor = descriptor
        for method in descriptor.methods:
            setattr(self, method.name, self._wrap(getattr(stub, method.name), method, timeout))

    @staticmethod
    def _wrap(multicallable: Any, method: Any, timeout: float) -> Callable[..., Any]:
        def call(request: Any, **kwargs: Any) -> Any:
            if not method.server_streaming and not method.client_streaming:
                kwargs.setdefault("timeout", timeout)
            try:
                result = multicallable(request, **kwargs)
            except grpc.RpcError as e:
                raise K8iError.from_rpc_error(e) from None
            return _map_stream_errors(result) if method.server_streaming else result

        call.__name__ = method.name
        call.__qualname__ = f"{method.containing_service.name}.{method.name}"
        call.__doc__ = f"{method.full_name}({method.input_type.name}) -> {method.output_type.name}"
        return call


class Client:
    """Channels to the k8intel services and one Service per gRPC service: admin, clusters,
    resources, metrics (inventory), ingest, incidents (correlation), recommendations and
    simulation (recommendation), costs, notifications. Create it with connect(). Thread-safe
    like gRPC channels; close() (or `with`) closes the channels."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._channels: Dict[Tuple[str, str], grpc.Channel] = {}
        self._base: Dict[str, grpc.Channel] = {}
        for binary in BINARIES:
            settings.validate(settings.endpoint_of(binary))
        for attr, (pb2, pb2_grpc, name, binary) in SERVICES.items():
            token = settings.api_key
            if attr == "ingest":
                token = settings.agent_token or settings.api_key
            channel = self.channel(binary, token)
            stub = getattr(pb2_grpc, f"{name}Stub")(channel)
            setattr(self, attr, Service(stub, pb2.DESCRIPTOR.services_by_name[name],
                                        settings.timeout))

    def _base_channel(self, target: str) -> grpc.Channel:
        if target not in self._base:
            s = self.settings
            options = []
            if s.server_name:
                options.append(("grpc.ssl_target_name_override", s.server_name))
            if s.tls:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=_read(s.ca_file),
                    private_key=_read(s.key_file),
                    certificate_chain=_read(s.cert_file),
                )
                self._base[target] = grpc.secure_channel(target, creds, options)
            else:
                self._base[target] = grpc.insecure_channel(target, options)
        return self._base[target]

    def channel(self, binary: str, token: Optional[str] = None) -> grpc.Channel:
        """The channel to `binary`'s endpoint, adding `authorization: Bearer <token>` (the API
        key when token is None) to every call: for stubs of your own."""
        target = self.settings.endpoint_of(binary)
        token = self.settings.api_key if token is None else token
        key = (target, token)
        if key not in self._channels:
            base = self._base_channel(target)
            self._channels[key] = grpc.intercept_channel(base, _BearerInterceptor(token))
        return self._channels[key]

    def check_health(self, service: str = "", binary: str = "inventory",
                     timeout: Optional[float] = None) -> str:
        """gRPC health of `service` (e.g. "k8intel.v1.IngestService"; "" = the server) at the
        endpoint of the binary that serves it: SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN."""
        for _, _, name, owner in SERVICES.values():
            if service == f"k8intel.v1.{name}":
                binary = owner
        stub = health_pb2_grpc.HealthStub(self._base_channel(self.settings.endpoint_of(binary)))
        try:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service),
                              timeout=timeout or self.settings.timeout)
        except grpc.RpcError as e:
            raise K8iError.from_rpc_error(e) from None
        return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)

    def close(self) -> None:
        for channel in self._base.values():
            channel.close()
        self._base.clear()
        self._channels.clear()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(
    endpoint: Optional[str] = None,
    *,
    api_key: Optional[str] = None,
    agent_token: Optional[str] = None,
    endpoints: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    env: Optional[Mapping[str, str]] = None,
    **tls: Any,
) -> Client:
    """A Client configured from the environment (`env`, default os.environ), with any of these
    arguments overriding it: endpoint, endpoints ({"ingest": "host:port", ...}), api_key,
    agent_token, timeout (seconds, unary calls), and the TLS settings tls, ca_file, cert_file,
    key_file, server_name, insecure_plaintext. Raises ConfigError on bad settings; no network
    traffic happens until the first call."""
    settings = Settings.from_env(env)
    if endpoint is not None:
        settings.endpoint = endpoint
    if endpoints:
        settings.endpoints.update(endpoints)
    if api_key is not None:
        settings.api_key = api_key
    if agent_token is not None:
        settings.agent_token = agent_token
    if timeout is not None:
        settings.timeout = timeout
    for name, value in tls.items():
        if name not in ("tls", "ca_file", "cert_file", "key_file", "server_name",
                        "insecure_plaintext"):
            raise TypeError(f"connect() got an unexpected keyword argument '{name}'")
        setattr(settings, name, value)
    if any(n in tls for n in ("ca_file", "cert_file")) and "tls" not in tls:
        settings.tls = settings.tls or bool(settings.ca_file or settings.cert_file)
    return Client(settings)
