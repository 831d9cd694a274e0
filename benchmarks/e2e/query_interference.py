#!/usr/bin/env python3
"""Ingest under query load: does a dashboard's heavy querying slow ingest down?

On the query data set (`edgewise-loadgen query-dataset`: 1,000 services, 10,000 edges, 90 days):
  1. capacity: protobuf ingest as fast as it goes (edgewise-loadgen generating spans, 4
     connections, batches of 512), spans per wall second (`--preencoded` ignores --rate, so the
     paced runs and the capacity run use the generating mode);
  2. rounds, interleaved (alone, loaded, loaded, alone, ...): ingest at half that capacity
     (--rate), alone or with 8 clients that loop `GET /api/v1/map?start=now-90d` (10,000
     edges). Reported per mode (medians over the rounds): the ingest rate reached, the p50/p99
     latency of an OTLP/JSON probe request (one small export every 20 ms on its own connection,
     through the same I/O threads as the load), and the queries' outcomes (200 / 429 / 503).

Usage: query_interference.py --build build [--rounds 3] [--seconds 15] [--out FILE]
       [--dataset-cache DIR] [--server-args '--query-workers 2'] [--capacity SPANS_PER_S]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, load_average  # noqa: E402


def probe_body(i):
    now = time.time_ns()
    trace = f"{i:032x}"
    span = {"traceId": trace, "spanId": f"{i:016x}", "name": "GET /probe", "kind": 2,
            "startTimeUnixNano": str(now - 2_000_000), "endTimeUnixNano": str(now)}
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "probe"}}]},
        "scopeSpans": [{"spans": [span]}]}]}).encode()


def probe(host_port, stop, out):
    """Posts one export every 20 ms; appends (status, ms) per request."""
    host, port = host_port.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    i = 1
    while not stop.is_set():
        body = probe_body(i)
        t = time.perf_counter()
        try:
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            out.append((r.status, (time.perf_counter() - t) * 1000))
        except OSError:
            out.append((0, (time.perf_counter() - t) * 1000))
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
        i += 1
        time.sleep(0.02)


def query_client(host_port, stop, out):
    host, port = host_port.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    while not stop.is_set():
        t = time.perf_counter()
        try:
            conn.request("GET", "/api/v1/map?start=now-90d")
            r = conn.getresponse()
            body = r.read()
            out.append((r.status, (time.perf_counter() - t) * 1000, len(body)))
            if r.status == 429:
                time.sleep(0.05)  # a client that honours 429 waits a little (Retry-After: 1 s)
        except OSError:
            out.append((0, (time.perf_counter() - t) * 1000, 0))
            conn = http.client.HTTPConnection(host, int(port), timeout=120)


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0.0


def loadgen(args, server, rate, summary):
    cmd = [args.loadgen, "--encoding", "proto", "--otlp", server.otlp,
           "--duration", f"{args.seconds}s", "--connections", "4", "--batch", "512",
           "--quiet", "--summary", summary]
    if rate:
        cmd += ["--rate", str(int(rate))]
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(summary) as f:
        s = json.load(f)
    return s, " ".join(cmd)


def query_clients(host_port, stop, results):
    """8 query client threads in their own process (so their JSON reading does not hold the
    probe's GIL); puts the (status, ms, bytes) list on results when stop is set."""
    answers = []
    threads = [threading.Thread(target=query_client, args=(host_port, stop, answers))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(answers)


def one_round(args, server, rate, queries, tmp, tag):
    stop = threading.Event()
    probes, answers = [], []
    prober = threading.Thread(target=probe, args=(server.otlp, stop, probes))
    prober.start()
    qstop, qresults, qproc = multiprocessing.Event(), multiprocessing.Queue(), None
    if queries:
        qproc = multiprocessing.Process(target=query_clients, args=(server.http, qstop, qresults))
        qproc.start()
    time.sleep(1)
    s, cmd = loadgen(args, server, rate, os.path.join(tmp, f"summary-{tag}.json"))
    stop.set()
    qstop.set()
    prober.join()
    if qproc:
        answers = qresults.get()
        qproc.join()
    lat = [ms for st, ms in probes if st == 200]
    outcome = {}
    for st, _, _ in answers:
        outcome[str(st)] = outcome.get(str(st), 0) + 1
    ok_ms = [ms for st, ms, _ in answers if st == 200]
    return {"queries": queries, "spans_per_s": s["spans_acked"] / max(1e-9, s["elapsed_s"]),
            "http_failures": s["http_failures"], "probe_requests": len(probes),
            "probe_failures": sum(1 for st, _ in probes if st != 200),
            "probe_p50_ms": pct(lat, 0.5), "probe_p99_ms": pct(lat, 0.99),
            "query_outcomes": outcome, "query_200_median_ms": pct(ok_ms, 0.5),
            "loadgen_command": cmd}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--server-args", default="", help="extra edgewise flags, space-separated")
    ap.add_argument("--capacity", type=float, default=0,
                    help="spans/s (ingest runs at half); measured when 0, so that A/B runs can "
                    "share one figure")
    ap.add_argument("--out", default="")
    ap.add_argument("--dataset-cache", default="",
                    help="directory keeping the generated data set between runs")
    args = ap.parse_args()
    args.edgewise = os.path.join(args.build, "server", "edgewise")
    args.loadgen = os.path.join(args.build, "tools", "edgewise-loadgen")
    tmp = tempfile.mkdtemp(prefix="ew-qi-")
    load_before = load_average()
    try:
        data = os.path.join(tmp, "data")
        if args.dataset_cache and os.path.isdir(args.dataset_cache):
            shutil.copytree(args.dataset_cache, data)  # generated earlier (ends then: fine)
        else:
            gen = subprocess.run([args.loadgen, "query-dataset", "--data-dir", data,
                                  "--services", "1000", "--archive-days", "90"], check=True,
                                 capture_output=True, text=True)
            print("dataset:", gen.stdout.strip(), flush=True)
            if args.dataset_cache:
                shutil.copytree(data, args.dataset_cache)
        server = Server(args.edgewise, data, ["--flush-interval", "2s", *args.server_args.split()],
                        grpc_addr="off")
        try:
            capacity = args.capacity
            if not capacity:
                caps = [loadgen(args, server, 0, os.path.join(tmp, f"cap-{i}.json"))[0]
                        for i in range(2)]
                capacity = statistics.median(c["spans_acked"] / c["elapsed_s"] for c in caps)
            rate = capacity / 2
            print(f"capacity {capacity:.0f} spans/s; ingest at {rate:.0f}", flush=True)
            rounds = []
            for i in range(args.rounds):
                order = [False, True] if i % 2 == 0 else [True, False]
                for q in order:
                    r = one_round(args, server, rate, q, tmp, f"{i}-{int(q)}")
                    print(json.dumps({k: v for k, v in r.items() if k != "loadgen_command"}),
                          flush=True)
                    rounds.append(r)
        finally:
            server.stop()
        result = {"capacity_spans_per_s": capacity, "rate": rate, "server_args": args.server_args,
                  "load_average_before": load_before, "load_average_after": load_average(),
                  "rounds": rounds}
        for q, name in ((False, "alone"), (True, "with_queries")):
            rs = [r for r in rounds if r["queries"] == q]
            result[name] = {k: statistics.median(r[k] for r in rs)
                            for k in ("spans_per_s", "probe_p50_ms", "probe_p99_ms")}
            result[name]["probe_p99_ms_per_round"] = [round(r["probe_p99_ms"], 1) for r in rs]
            if q:
                outcomes = {}
                for r in rs:
                    for st, n in r["query_outcomes"].items():
                        outcomes[st] = outcomes.get(st, 0) + n
                result[name]["query_outcomes"] = outcomes
                result[name]["query_200_median_ms"] = statistics.median(
                    r["query_200_median_ms"] for r in rs)
        print(json.dumps({k: result[k] for k in ("capacity_spans_per_s", "server_args", "alone",
                                                 "with_queries", "load_average_before",
                                                 "load_average_after")}, indent=1))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
