#!/usr/bin/env python3
"""Lists incidents (IncidentService.ListIncidents on the correlation service), every page.

    eval "$(tools/dev env)"; /usr/bin/python3 sdk/python/examples/list_incidents.py [CLUSTER]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import k8intel_sdk as k8i  # noqa: E402
from k8intel_sdk import v1  # noqa: E402


def main() -> int:
    cluster = sys.argv[1] if len(sys.argv) > 1 else "-"
    client = k8i.connect()  # K8I_CORRELATION_ENDPOINT or K8I_ENDPOINT, K8I_API_KEY
    request = v1.ListIncidentsRequest(parent=f"clusters/{cluster}", page_size=50)
    n = 0
    for incident in k8i.paginate(client.incidents.ListIncidents, request):
        state = v1.IncidentState.Name(incident.state).removeprefix("INCIDENT_STATE_")
        severity = v1.Severity.Name(incident.severity).removeprefix("SEVERITY_")
        print(f"incident {incident.name} {state} {severity} {incident.title}")
        n += 1
    print(f"{n} incidents")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (k8i.K8iError, k8i.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
