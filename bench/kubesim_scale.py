#!/usr/bin/env python3
"""k8i-kubesim in scale mode: what one process costs serving a fleet.

Starts `k8i-kubesim serve --clusters N --distinct K` with a scenario (default: fleet.yaml, about
1,000 pods per cluster), then measures
  1. start-up time and resident memory;
  2. a full paged list of pods (limit 500, as the agent pages) of every cluster, from T threads;
  3. one open pod watch per cluster (bookmarks on) for D seconds while the scenario plays at
     --speed: events received, kubesim CPU and memory meanwhile;
and prints the figures. Usage:
  bench/kubesim_scale.py [--bin build/bin/k8i-kubesim] [--clusters 1000] [--distinct 10]
                         [--threads 8] [--watch-seconds 60] [--speed 60]
No reference is measured: there is no other Kubernetes API server to run on this machine.
"""
import argparse
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(port, ctx):
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)


def list_all(port, ctx, token, cluster):
    """Pages through the cluster's pods; returns the number of items."""
    conn = connect(port, ctx)
    items, cont = 0, ""
    while True:
        path = f"/clusters/{cluster}/api/v1/pods?limit=500"
        if cont:
            path += "&continue=" + cont
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        res = conn.getresponse()
        body = json.loads(res.read())
        if res.status != 200:
            raise RuntimeError(f"{cluster}: HTTP {res.status}: {body}")
        items += len(body["items"])
        cont = body["metadata"].get("continue", "")
        if not cont:
            conn.close()
            return items, int(body["metadata"]["resourceVersion"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/bin/k8i-kubesim"))
    ap.add_argument("--scenario", default=os.path.join(ROOT, "tools/kubesim/scenarios/fleet.yaml"))
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=10)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--watch-seconds", type=float, default=60)
    ap.add_argument("--speed", type=float, default=60)
    a = ap.parse_args()

    state = tempfile.mkdtemp(prefix="kubesim-scale-")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [a.bin, "--log-level", "warn", "serve", "--scenario", a.scenario, "--state-dir", state,
         "--clusters", str(a.clusters), "--distinct", str(a.distinct), "--speed", str(a.speed),
         "--bookmark-interval", "10s"])
    try:
        while not os.path.exists(os.path.join(state, "kubesim.ready")):
            if proc.poll() is not None:
                sys.exit(f"kubesim exited with {proc.returncode}")
            if time.monotonic() - t0 > 120:
                sys.exit("kubesim not ready after 120 s")
            time.sleep(0.05)
        ready_s = time.monotonic() - t0
        base = open(os.path.join(state, "kubesim.ready")).read().strip()
        port = int(base.rsplit(":", 1)[1])
        token = open(os.path.join(state, "token")).read().strip()
        ctx = ssl.create_default_context(cafile=os.path.join(state, "ca.crt"))
        names = [f"fleet-{i + 1:04d}" for i in range(a.clusters)]
        print(f"kubesim: {a.clusters} clusters from {a.distinct} simulations, ready in "
              f"{ready_s:.2f} s, RSS {rss_mb(proc.pid):.0f} MB")

        # 2. full paged lists of every cluster's pods
        totals, errors, lock = [0], [], threading.Lock()
        queue = list(names)

        def lister():
            while True:
                with lock:
                    if not queue:
                        return
                    c = queue.pop()
                try:
                    n, _ = list_all(port, ctx, token, c)
                    with lock:
                        totals[0] += n
                except Exception as e:  # noqa: BLE001 - reported below
                    with lock:
                        errors.append(str(e))

        cpu0, w0 = cpu_seconds(proc.pid), time.monotonic()
        threads = [threading.Thread(target=lister) for _ in range(a.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - w0
        cpu = cpu_seconds(proc.pid) - cpu0
        print(f"lists: {totals[0]} pods of {a.clusters} clusters in {wall:.2f} s = "
              f"{totals[0] / wall:,.0f} pods/s ({a.clusters / wall:.1f} clusters/s), kubesim CPU "
              f"{cpu:.2f} s, errors {len(errors)}{': ' + errors[0] if errors else ''}")

        # 3. one pod watch per cluster while the scenario plays
        counts = {"events": 0, "bookmarks": 0, "watches": 0, "errors": 0}
        stop = threading.Event()

        def watcher(chunk):
            for c in chunk:
                try:
                    conn = connect(port, ctx)
                    conn.request("GET", f"/clusters/{c}/api/v1/pods?limit=1",
                                 headers={"Authorization": "Bearer " + token})
                    rv = json.loads(conn.getresponse().read())["metadata"]["resourceVersion"]
                    conn.request("GET", f"/clusters/{c}/api/v1/pods?watch=true&resourceVersion="
                                 f"{rv}&allowWatchBookmarks=true&timeoutSeconds=3600",
                                 headers={"Authorization": "Bearer " + token})
                    res = conn.getresponse()
                    with lock:
                        counts["watches"] += 1
                    threading.Thread(target=reader, args=(res,), daemon=True).start()
                except Exception:  # noqa: BLE001
                    with lock:
                        counts["errors"] += 1

        def reader(res):
            try:
                while not stop.is_set():
                    line = res.readline()
                    if not line:
                        return
                    kind = json.loads(line)["type"]
                    with lock:
                        counts["bookmarks" if kind == "BOOKMARK" else "events"] += 1
            except Exception:  # noqa: BLE001
                pass

        chunks = [names[i::a.threads] for i in range(a.threads)]
        openers = [threading.Thread(target=watcher, args=(ch,)) for ch in chunks]
        for t in openers:
            t.start()
        for t in openers:
            t.join()
        cpu0, w0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(a.watch_seconds)  # the measurement window itself
        stop.set()
        wall = time.monotonic() - w0
        cpu = cpu_seconds(proc.pid) - cpu0
        print(f"watches: {counts['watches']} open ({counts['errors']} failed); in {wall:.0f} s "
              f"({wall * a.speed / 60:.0f} scenario minutes): {counts['events']:,} events, "
              f"{counts['bookmarks']:,} bookmarks; kubesim CPU {cpu:.2f} s "
              f"({100 * cpu / wall:.1f}% of a core), RSS {rss_mb(proc.pid):.0f} MB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
