"""k8intel_sdk: a Python client of the k8intel gRPC API (docs/sdk.md).

    import k8intel_sdk as k8i
    from k8intel_sdk import v1

    client = k8i.connect()                      # K8I_ENDPOINT, K8I_API_KEY, ... (see client.py)
    for pod in k8i.paginate(client.resources.ListPods,
                            v1.ListPodsRequest(parent="clusters/-/namespaces/-")):
        print(pod.name)

The messages and stubs are generated from proto/ by `tools/dev sdk` into k8intel_sdk/_gen.
"""

import os as _os

if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "_gen", "k8intel")):
    raise ImportError(
        "k8intel_sdk: the generated code is missing (k8intel_sdk/_gen): run `tools/dev sdk`")

from k8intel_sdk import v1  # noqa: E402
from k8intel_sdk.client import (  # noqa: E402
    Client,
    ConfigError,
    Service,
    Settings,
    connect,
)
from k8intel_sdk.errors import ErrorInfo, FieldViolation, K8iError, decode_status  # noqa: E402
from k8intel_sdk.paging import pages, paginate  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Client",
    "ConfigError",
    "ErrorInfo",
    "FieldViolation",
    "K8iError",
    "Service",
    "Settings",
    "connect",
    "decode_status",
    "pages",
    "paginate",
    "v1",
]
