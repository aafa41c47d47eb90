"""K8iError: a failed k8intel RPC with its google.rpc.Status details decoded.

Every k8intel service attaches a google.rpc.Status to a failure in the
`grpc-status-details-bin` trailer (AIP-193): an ErrorInfo always, BadRequest field
violations when the request was invalid, RetryInfo when the call may be retried later.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import grpc

from k8intel_sdk._gen.google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """One invalid field of a request: its path (e.g. `batch.metrics[0].name`) and why."""

    field: str
    description: str


class ErrorInfo(NamedTuple):
    """The machine-readable reason of an error, within a domain (k8intel.dev)."""

    reason: str
    domain: str
    metadata: Dict[str, str]


def decode_status(
    trailing_metadata: Optional[Sequence[Tuple[str, object]]],
) -> Optional[status_pb2.Status]:
    """Returns the google.rpc.Status carried in the trailers, or None when there is none."""
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status()
            status.ParseFromString(value if isinstance(value, bytes) else str(value).encode())
            return status
    return None


class K8iError(Exception):
    """A failed RPC: the gRPC code, the message and the decoded details.

    Attributes:
      code: the grpc.StatusCode.
      message: the server's message.
      field_violations: list of FieldViolation (from google.rpc.BadRequest).
      error_info: ErrorInfo, or None when the server sent none (e.g. a transport error).
      retry_delay: seconds after which the same call may be retried (RetryInfo), or None.
      status: the raw google.rpc.Status, or None.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        status: Optional[status_pb2.Status] = None,
    ):
        self.code = code
        self.message = message
        self.status = status
        self.field_violations: List[FieldViolation] = []
        self.error_info: Optional[ErrorInfo] = None
        self.retry_delay: Optional[float] = None
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                self.field_violations.extend(
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                )
            elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                self.error_info = ErrorInfo(info.reason, info.domain, dict(info.metadata))
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                self.retry_delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
        super().__init__(str(self))

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "K8iError":
        """Decodes a grpc.RpcError raised by a stub call (it must also be a grpc.Call)."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        status = decode_status(trailers)
        if status is not None and status.message:
            message = status.message
        return cls(code, message or "", status)

    def __str__(self) -> str:
        lines = [f"{self.code.name}: {self.message}"]
        lines += [f"  {v.field}: {v.description}" for v in self.field_violations]
        if self.retry_delay is not None:
            lines.append(f"  retry after {self.retry_delay:g}s")
        return "\n".join(lines)
