#!/usr/bin/env python3
"""Restart time of the real server against the number of waiting halves.

For each count of waiting halves and each way of stopping (kill -9, or SIGTERM: a clean stop):
a fresh server (--pair-wait 30m, so nothing expires) receives that many unpaired client halves
from `edgewise-loadgen --preencoded --unpaired`, plus client halves with repeated ids posted here
(--repeated-keys distinct (trace, span) keys, each sent --repeats times, as a retrying client
would); once every half is pending and two more flushes have persisted them, the server is killed
or stopped, and started again on the same data directory. Reported: the wall time from starting
the process to its ready line (median of --runs runs), the load time it logs, and checks that the
restarted server holds exactly as many halves as before and that the repeated-id halves still pair
(their server halves are sent after the restart and must complete that many pairs).

    python3 benchmarks/e2e/restart.py --build build --out restart.json --sizes 500000,2000000,4000000
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, median, run, save  # noqa: E402

SERVER_FLAGS = ["--pair-wait", "30m", "--flush-interval", "2s", "--max-pending", "50000000"]


def post_json(otlp, body):
    req = urllib.request.Request(f"http://{otlp}/v1/traces", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status != 200:
            raise RuntimeError(f"POST /v1/traces: HTTP {r.status}")


def half(service, peer, trace, span, parent, server_side, now_ns):
    attrs = [{"key": "http.request.method", "value": {"stringValue": "GET"}},
             {"key": "http.response.status_code", "value": {"intValue": "200"}}]
    if not server_side:
        attrs.append({"key": "server.address", "value": {"stringValue": peer}})
    span_json = {"traceId": trace, "spanId": span, "name": "GET /restart",
                 "kind": 2 if server_side else 3, "startTimeUnixNano": str(now_ns - 2_000_000),
                 "endTimeUnixNano": str(now_ns), "attributes": attrs}
    if parent:
        span_json["parentSpanId"] = parent
    return {"resource": {"attributes": [{"key": "service.name",
                                         "value": {"stringValue": service}}]},
            "scopeSpans": [{"spans": [span_json]}]}


def repeated_keys(count):
    """(trace id, client span id) of the repeated-id halves: fixed, so every send repeats them."""
    return [(f"{0xabc0000000000000 + k:032x}", f"{0x5000000000000000 + k:016x}")
            for k in range(count)]


def send_halves(otlp, keys, server_side, per_request=200):
    now_ns = time.time_ns()
    for i in range(0, len(keys), per_request):
        spans = []
        for trace, span in keys[i:i + per_request]:
            if server_side:
                spans.append(half("restart-api", "", trace, f"{int(span, 16) ^ 1:016x}", span,
                                  True, now_ns))
            else:
                spans.append(half("restart-web", "restart-api", trace, span, "", False, now_ns))
        post_json(otlp, {"resourceSpans": spans})


def metric(server, name):
    return server.metrics().get(name)


def wait_settled(server, timeout=300):
    """Waits until the pending count stops changing and two more flushes completed; returns it."""
    deadline = time.time() + timeout
    flushes_at, last = None, -1
    while time.time() < deadline:
        m = server.metrics()
        pending = m.get("ew_pending_halves")
        flushes = m.get("ew_storage_flushes_total", 0)
        if flushes_at is None and pending == last:
            flushes_at = flushes
        if flushes_at is not None and flushes >= flushes_at + 2:
            if pending != last:
                raise RuntimeError(f"pending halves changed after settling: {last} -> {pending}")
            return pending
        last = pending
        time.sleep(1.0)
    raise RuntimeError(f"pending halves did not settle: {last}")


def start_timed(binary, data, log_path):
    """Starts the server; returns (Server, seconds from exec to its ready line)."""
    t = time.perf_counter()
    server = Server(binary, data, SERVER_FLAGS, log_path=log_path)
    return server, time.perf_counter() - t


def one_run(args, tmp, halves, mode, run_index):
    data = os.path.join(tmp, f"restart-{halves}-{mode}-{run_index}")
    os.makedirs(data)
    log1, log2 = data + ".first.log", data + ".second.log"
    server = Server(args.edgewise, data, SERVER_FLAGS, log_path=log1)
    keys = repeated_keys(args.repeated_keys)
    try:
        requests = halves // 512
        run([args.loadgen, "--preencoded", "--unpaired", "--otlp", server.otlp, "--requests",
             str(requests), "--connections", "2", "--bodies", "64", "--quiet"])
        for _ in range(args.repeats):
            send_halves(server.otlp, keys, server_side=False)
        before = wait_settled(server)
    except Exception:
        server.stop()
        raise
    if mode == "kill9":
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.log.close()
    else:
        server.stop()
    server, seconds = start_timed(args.edgewise, data, log2)
    try:
        after = metric(server, "ew_pending_halves")
        pairs0 = metric(server, "ew_pairs_completed_total") or 0
        send_halves(server.otlp, keys, server_side=True)
        deadline = time.time() + 60
        while (metric(server, "ew_pairs_completed_total") or 0) < pairs0 + len(keys):
            if time.time() > deadline:
                break
            time.sleep(0.2)
        paired = (metric(server, "ew_pairs_completed_total") or 0) - pairs0
    finally:
        server.stop()
    with open(log2) as f:
        text = f.read()
    m = re.search(r"loaded (\d+) pending halves in (\d+) ms", text)
    shutil.rmtree(data, ignore_errors=True)
    return {"halves": halves, "mode": mode, "ready_s": seconds,
            "load_ms": int(m.group(2)) if m else None, "pending_before": before,
            "pending_after": after, "repeated_keys": len(keys), "repeated_paired": paired,
            "log_lines": [line for line in text.splitlines() if "ingest" in line][:6]}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--out", required=True)
    p.add_argument("--tmp", default=None)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", default="500000,2000000,4000000")
    p.add_argument("--modes", default="kill9,stop")
    p.add_argument("--repeated-keys", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    args.edgewise = os.path.join(args.build, "server", "edgewise")
    args.loadgen = os.path.join(args.build, "tools", "edgewise-loadgen")
    tmp = tempfile.mkdtemp(prefix="ew-restart-", dir=args.tmp)
    out = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "params": {k: v for k, v in vars(args).items()}, "runs": [], "summary": []}
    try:
        for halves in [int(x) for x in args.sizes.split(",")]:
            for mode in args.modes.split(","):
                runs = []
                for i in range(args.runs):
                    print(f"restart: {halves} halves, {mode}, run {i + 1} ...", file=sys.stderr,
                          flush=True)
                    r = one_run(args, tmp, halves, mode, i)
                    print(f"restart:   ready after {r['ready_s']:.2f} s (load {r['load_ms']} ms), "
                          f"pending {r['pending_before']} -> {r['pending_after']}, repeated ids "
                          f"paired {r['repeated_paired']}/{r['repeated_keys']}", file=sys.stderr,
                          flush=True)
                    runs.append(r)
                    out["runs"].append(r)
                    save(args.out, out)
                out["summary"].append({
                    "halves": halves, "mode": mode,
                    "median_ready_s": median([r["ready_s"] for r in runs]),
                    "median_load_ms": median([r["load_ms"] for r in runs if r["load_ms"]]),
                    "all_pending_kept": all(r["pending_after"] == r["pending_before"]
                                            for r in runs),
                    "all_repeated_paired": all(r["repeated_paired"] == r["repeated_keys"]
                                               for r in runs)})
                save(args.out, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
