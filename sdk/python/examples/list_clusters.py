#!/usr/bin/env python3
"""Lists the tenant's clusters (ClusterService.ListClusters, every page).

    eval "$(tools/dev env)"; /usr/bin/python3 sdk/python/examples/list_clusters.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import k8intel_sdk as k8i  # noqa: E402
from k8intel_sdk import v1  # noqa: E402


def main() -> int:
    client = k8i.connect()  # K8I_ENDPOINT (or K8I_INVENTORY_ENDPOINT), K8I_API_KEY
    n = 0
    for cluster in k8i.paginate(client.clusters.ListClusters, v1.ListClustersRequest()):
        print(f"cluster {cluster.name} {cluster.display_name}")
        n += 1
    print(f"{n} clusters")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (k8i.K8iError, k8i.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
