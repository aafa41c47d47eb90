#!/usr/bin/env python3
"""Correlation quality beside Prometheus' Alertmanager, on the same alert streams.

Runs k8i-bench-correlation-quality (our incidents, noise reduction, pairwise precision and
recall, pages) and dumps the labelled scenarios' alert streams; then, per scenario, starts
Debian's prometheus-alertmanager (route grouped by alertname and namespace, webhook receiver
with send_resolved) with a local webhook sink, replays the stream through its v2 API at
--speed times real time (its group_wait / group_interval / repeat_interval scaled by the same
factor, defaults 30s / 5m / 4h) and counts the notifications it sends. Prints both side by side.

  bench/correlation_alertmanager.py [--bin build/bin] [--speed 60]
"""

import argparse
import collections
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Sink.lock:
            Sink.received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def fmt(seconds):
    # Alertmanager durations take whole units: milliseconds here.
    return f"{max(int(seconds * 1000), 50)}ms"


def run_alertmanager(binary, workdir, sink_port, speed):
    port = free_port()
    config = os.path.join(workdir, "alertmanager.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  resolve_timeout: 1h
route:
  receiver: sink
  group_by: [alertname, namespace]
  group_wait: {fmt(30 / speed)}
  group_interval: {fmt(300 / speed)}
  repeat_interval: {fmt(4 * 3600 / speed)}
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:{sink_port}/
        send_resolved: true
""")
    data = os.path.join(workdir, "data")
    shutil.rmtree(data, ignore_errors=True)
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={data}",
         f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "am.log"), "a"))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1)
            return proc, port
        except Exception:
            time.sleep(0.2)
    proc.kill()
    sys.exit("alertmanager did not become ready (see am.log)")


def post(port, alerts):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts",
                                 data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or
                    "/usr/bin/prometheus-alertmanager")
    args = ap.parse_args()
    if not os.path.exists(args.alertmanager):
        sys.exit("prometheus-alertmanager is not installed (tools/dev install)")
    workdir = tempfile.mkdtemp(prefix="k8i-am-")
    dump = os.path.join(workdir, "scenarios.jsonl")
    ours = subprocess.run([os.path.join(args.bin, "k8i-bench-correlation-quality"), "--dump", dump],
                          check=True, capture_output=True, text=True).stdout
    print("k8intel correlation (engine, event time):")
    print(ours)
    streams = collections.OrderedDict()
    for line in open(dump):
        a = json.loads(line)
        streams.setdefault(a["scenario"], []).append(a)

    sink_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", sink_port), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    version = subprocess.run([args.alertmanager, "--version"], capture_output=True, text=True)
    am_version = (version.stdout or version.stderr).split("\n")[0]
    print(f"Alertmanager ({am_version}; group_by alertname, namespace; default timers "
          f"scaled {args.speed:g}x):")
    print(f"{'scenario':28} {'alerts':>7} {'notifications':>14} {'firing-notifs':>14}")
    total_alerts = total_notifs = total_firing = 0
    for name, stream in streams.items():
        with Sink.lock:
            Sink.received.clear()
        proc, port = run_alertmanager(args.alertmanager, workdir, sink_port, args.speed)
        try:
            t0 = time.time()
            firing_now, firings = set(), 0
            for a in stream:
                delay = t0 + a["at_seconds"] / args.speed - time.time()
                if delay > 0:
                    time.sleep(delay)
                key = json.dumps(a["labels"], sort_keys=True)
                now = time.time()
                alert = {"labels": a["labels"], "startsAt": iso(now)}
                if a["resolved"]:
                    alert["endsAt"] = iso(now)
                    firing_now.discard(key)
                elif key not in firing_now:
                    firing_now.add(key)
                    firings += 1
                post(port, [alert])
            # Let the last group flush: group_wait + two group_intervals.
            time.sleep((30 + 2 * 300) / args.speed + 1)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        with Sink.lock:
            notifs = list(Sink.received)
        firing_notifs = sum(1 for n in notifs if n.get("status") == "firing")
        print(f"{name:28} {firings:7d} {len(notifs):14d} {firing_notifs:14d}")
        total_alerts += firings
        total_notifs += len(notifs)
        total_firing += firing_notifs
    print(f"{'all':28} {total_alerts:7d} {total_notifs:14d} {total_firing:14d}")
    server.shutdown()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
