#!/usr/bin/env python3
"""Sends two invalid requests and prints what the error details say: a ListPods filter on a
field that does not exist, and a Push of a metric with an invalid name. Both come back as
INVALID_ARGUMENT with google.rpc.BadRequest field violations and an ErrorInfo, decoded from
the grpc-status-details-bin trailer into k8i.K8iError.

    eval "$(tools/dev env)"; /usr/bin/python3 sdk/python/examples/bad_request.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import k8intel_sdk as k8i  # noqa: E402
from k8intel_sdk import v1  # noqa: E402


def show(rpc: str, call) -> bool:
    """Runs `call`, prints the decoded error; True when it was rejected with violations."""
    try:
        call()
    except k8i.K8iError as e:
        print(f"{rpc}: {e.code.name}: {e.message}")
        for v in e.field_violations:
            print(f"  field violation: {v.field}: {v.description}")
        if e.error_info:
            print(f"  error info: reason={e.error_info.reason} domain={e.error_info.domain}")
        return bool(e.field_violations)
    print(f"{rpc}: unexpectedly accepted")
    return False


def main() -> int:
    client = k8i.connect()
    bad_filter = v1.ListPodsRequest(parent="clusters/-/namespaces/-", filter='no_such_field = "x"')
    now_ms = int(time.time() * 1000)
    bad_metric = v1.PushRequest(batch=v1.TelemetryBatch(
        batch_id=f"sdk-python-bad-{now_ms}",
        metrics=[v1.MetricSeries(name="9-not-a-metric", type=v1.METRIC_TYPE_GAUGE,
                                 samples=[v1.Sample(time_unix_ms=now_ms, value=1)])]))
    ok = show("ListPods", lambda: client.resources.ListPods(bad_filter))
    ok = show("Push", lambda: client.ingest.Push(bad_metric)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except k8i.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
