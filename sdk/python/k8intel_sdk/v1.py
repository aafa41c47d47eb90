"""Every message and enum of the k8intel.v1 API in one namespace, e.g.

    from k8intel_sdk import v1
    v1.ListPodsRequest(parent="clusters/-/namespaces/-", page_size=50)
    v1.MetricSeries(name="x", type=v1.METRIC_TYPE_GAUGE)

The generated modules themselves are k8intel_sdk._gen.k8intel.v1.<file>_pb2 (and _pb2_grpc).
"""

import importlib
import pkgutil

from k8intel_sdk._gen.k8intel import v1 as _package

__all__ = []
for _info in pkgutil.iter_modules(_package.__path__):
    if not _info.name.endswith("_pb2"):
        continue
    _module = importlib.import_module(f"{_package.__name__}.{_info.name}")
    for _name in _module.DESCRIPTOR.message_types_by_name:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
    for _name, _enum in _module.DESCRIPTOR.enum_types_by_name.items():
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
        for _value in _enum.values:  # proto3 enum values are unique within the package
            globals()[_value.name] = _value.number
            __all__.append(_value.name)
