#!/usr/bin/env python3
"""Pushes one TelemetryBatch with one metric series (IngestService.Push, agent token).

    eval "$(tools/dev env)"; /usr/bin/python3 sdk/python/examples/push_telemetry.py [NODE]

The token's cluster is the batch's cluster. A batch re-sent with the same batch_id is stored
once: the second answer says "duplicate".
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import k8intel_sdk as k8i  # noqa: E402
from k8intel_sdk import v1  # noqa: E402


def main() -> int:
    node = sys.argv[1] if len(sys.argv) > 1 else "node-1"
    client = k8i.connect()  # K8I_INGEST_ENDPOINT or K8I_ENDPOINT, K8I_AGENT_TOKEN
    now_ms = int(time.time() * 1000)
    batch = v1.TelemetryBatch(
        batch_id=f"sdk-python-{now_ms}",
        metrics=[
            v1.MetricSeries(
                name="k8s_node_cpu_utilization",
                type=v1.METRIC_TYPE_GAUGE,
                unit="1",
                resource=v1.ResourceRef(node_name=node),
                samples=[v1.Sample(time_unix_ms=now_ms, value=0.42)],
            )
        ],
    )
    resp = client.ingest.Push(v1.PushRequest(batch=batch))
    state = "duplicate" if resp.duplicate else "stored"
    print(f"batch {resp.batch_id}: {state}, {resp.accepted_samples} samples")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (k8i.K8iError, k8i.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
