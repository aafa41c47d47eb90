#!/usr/bin/env python3
"""Pages through pods (ResourceService.ListPods) with a small page size.

    eval "$(tools/dev env)"
    /usr/bin/python3 sdk/python/examples/page_pods.py [PARENT] [PAGE_SIZE]

PARENT defaults to clusters/-/namespaces/- (every pod), PAGE_SIZE to 2.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import k8intel_sdk as k8i  # noqa: E402
from k8intel_sdk import v1  # noqa: E402


def main() -> int:
    parent = sys.argv[1] if len(sys.argv) > 1 else "clusters/-/namespaces/-"
    page_size = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    client = k8i.connect()
    request = v1.ListPodsRequest(parent=parent, page_size=page_size)
    # k8i.paginate(client.resources.ListPods, request) yields the pods alone; pages() shows
    # the pages too.
    pods = pages = 0
    for page in k8i.pages(client.resources.ListPods, request):
        pages += 1
        print(f"page {pages}: {len(page.pods)} pods")
        for pod in page.pods:
            print(f"pod {pod.name} {pod.pod.phase}")
            pods += 1
    print(f"{pods} pods in {pages} pages")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (k8i.K8iError, k8i.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
