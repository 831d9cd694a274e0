#!/usr/bin/env python3
"""VictoriaMetrics peer: the same edge rollups as Grafana Tempo's service-graph series.

Starts Debian's `victoria-metrics` on 127.0.0.1 with a temporary storage directory, imports the
JSON-lines file written by `edgewise-loadgen rollups --vm-out` through /api/v1/import (VM's bulk
import API; the Prometheus text format would make the import file, not VM, the bottleneck),
flushes and merges, then measures bytes on disk per edge-minute, the ingest (samples and
edge-minutes per VM CPU-second) and map query latency with PromQL
`sum by (client, server) (increase(traces_service_graph_request_total[RANGE]))` at the end of the
data, plus the full map (requests, failures, p99 from the server-side histogram).
The result cache is disabled (-search.disableCache) so repeated queries are real work.

Usage: vm_compare.py --import FILE --edge-minutes N --end-minute M --out vm.json
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from common import cpu_seconds, dir_bytes, http_get, quote, save, timed_get  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ensure_installed():
    if shutil.which("victoria-metrics"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "victoria-metrics"], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--import", dest="import_file", required=True)
    p.add_argument("--edge-minutes", type=int, required=True)
    p.add_argument("--end-minute", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--tmp", default=None)
    args = p.parse_args()
    ensure_installed()
    vr = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"],
                        capture_output=True, text=True)
    version = vr.stdout.strip() or "?"
    tmp = tempfile.mkdtemp(prefix="ew-vm-", dir=args.tmp)
    storage = os.path.join(tmp, "vmdata")
    port = free_port()
    addr = f"127.0.0.1:{port}"
    cmd = ["victoria-metrics", "-storageDataPath", storage, "-httpListenAddr", addr,
           "-retentionPeriod", "100y", "-search.disableCache", "-search.latencyOffset", "0s",
           "-loggerLevel", "ERROR"]
    log = open(os.path.join(tmp, "vm.log"), "w")
    vm = subprocess.Popen(cmd, stdout=log, stderr=log)
    out = {"version": version, "command": " ".join(cmd)}
    try:
        for _ in range(200):
            try:
                if http_get(addr, "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        cpu0, t0 = cpu_seconds(vm.pid), time.perf_counter()
        size = os.path.getsize(args.import_file)
        with open(args.import_file, "rb") as f:
            req = urllib.request.Request(f"http://{addr}/api/v1/import", data=f, method="POST",
                                         headers={"Content-Length": str(size)})
            with urllib.request.urlopen(req, timeout=3600) as r:
                r.read()
        http_get(addr, "/internal/force_flush")
        cpu1, t1 = cpu_seconds(vm.pid), time.perf_counter()
        samples = sum(1 for _ in open(args.import_file))  # series lines
        out["import"] = {"file_bytes": size, "series": samples, "wall_s": t1 - t0,
                         "vm_cpu_s": cpu1 - cpu0,
                         "edge_minutes_per_cpu_s": args.edge_minutes / max(1e-9, cpu1 - cpu0)}
        # Let background merges settle, then force-merge every partition for a fair size.
        for prefix in sorted({time.strftime("%Y_%m", time.gmtime((args.end_minute - d * 1440) * 60))
                              for d in range(0, 120)}):
            try:
                http_get(addr, f"/internal/force_merge?partition_prefix={prefix}", timeout=600)
            except OSError:
                pass
        last = -1
        for _ in range(60):
            time.sleep(2)
            now = dir_bytes(storage)
            if now == last:
                break
            last = now
        out["bytes_on_disk"] = dir_bytes(storage)
        out["bytes_per_edge_minute"] = out["bytes_on_disk"] / args.edge_minutes
        end = args.end_minute * 60
        q = {}
        for name in ("1h", "7d"):
            requests = f"sum by (client, server) (increase(traces_service_graph_request_total[{name}]))"
            q[f"map_{name}"] = timed_get(addr, f"/api/v1/query?query={quote(requests)}&time={end}",
                                         args.reps)
            failed = f"sum by (client, server) (increase(traces_service_graph_request_failed_total[{name}]))"
            p99 = ("histogram_quantile(0.99, sum by (client, server, le) "
                   f"(increase(traces_service_graph_request_server_seconds_bucket[{name}])))")
            full = [timed_get(addr, f"/api/v1/query?query={quote(x)}&time={end}", args.reps)
                    for x in (requests, failed, p99)]
            q[f"full_map_{name}"] = {"median_ms": sum(x["median_ms"] for x in full),
                                     "p99_ms": sum(x["p99_ms"] for x in full), "reps": args.reps}
        status, body = http_get(addr, f"/api/v1/query?query={quote('count(traces_service_graph_request_total)')}&time={end}")
        out["series_check"] = body.decode()[:300]
        out["queries"] = q
    except Exception as e:
        out["error"] = str(e)
        print(f"vm: {e}", file=sys.stderr)
    finally:
        vm.terminate()
        vm.wait(timeout=60)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    save(args.out, out)
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
