#!/usr/bin/env python3
"""Soak: the real server under half its measured ingest capacity for a long time.

  1. capacity: two unpaced runs of the ledger-keeping edgewise-loadgen (protobuf, 4 connections,
     batches of 512; the spans are generated, so the loadgen may be the limit) against a
     throwaway server; the median spans/s is the capacity C (or --capacity C);
  2. a fresh server (`--otlp-grpc-addr off`, ports chosen by the kernel) gets C/2 spans/s for
     --minutes (default 30) from `edgewise-loadgen --rate C/2 --ledger`, while a client asks for
     the map (`/api/v1/map?start=now-15m`, every 4th time `now-1h`) every --query-every seconds
     and the server's RSS and `ew_spans_received_total` are sampled every --sample-seconds;
  3. at the end, `edgewise-loadgen verify` checks the map, minute by minute, against the ledger of
     acknowledged traffic.

Reported: memory drift = median RSS of the last sixth of the run (minutes 25-30 of 30) against
the median of its second sixth (minutes 5-10), goal < 5 %; the ingest rate per minute (median,
min, max, coefficient of variation, first minute left out); every HTTP code the server answered;
the loadgen's failures and refused spans; the queries' outcomes and latency; the verify result.
Exit 1 when the drift goal, an error count or the ledger check fails.

    nice -n 10 python3 benchmarks/e2e/soak.py --build build --minutes 30 --out soak.json
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Server, counter_sum, http_codes, http_get, load_average,  # noqa: E402
                    loadgen_cmd, measure_capacity, save, verify_ledger)


def sampler(server, every_s, stop, out):
    """Appends (seconds since start, RSS bytes, spans received) every every_s seconds."""
    t0 = time.time()
    while not stop.is_set():
        try:
            spans = counter_sum(server.metrics(), "ew_spans_received_total")
        except OSError:
            spans = None
        out.append((time.time() - t0, server.rss(), spans))
        stop.wait(every_s)


def querier(server, every_s, stop, out):
    """Asks for the map every every_s seconds; appends (status, ms, bytes)."""
    i = 0
    while not stop.wait(every_s):
        path = "/api/v1/map?start=now-1h" if i % 4 == 3 else "/api/v1/map?start=now-15m"
        t = time.perf_counter()
        try:
            status, body = http_get(server.http, path, timeout=60)
            out.append((status, (time.perf_counter() - t) * 1000, len(body)))
        except urllib.error.HTTPError as e:
            out.append((e.code, (time.perf_counter() - t) * 1000, 0))
        except OSError:
            out.append((0, (time.perf_counter() - t) * 1000, 0))
        i += 1


def window_median(samples, lo_s, hi_s):
    vals = [rss for t, rss, _ in samples if lo_s <= t < hi_s]
    return statistics.median(vals) if vals else None


def per_minute_rates(samples):
    """Spans/s over each whole minute of the samples (from the received-spans counter)."""
    rates, minute = [], 1
    pts = [(t, s) for t, _, s in samples if s is not None]
    if not pts:
        return rates
    t0, s0 = pts[0]
    for t, s in pts:
        if t >= minute * 60:
            rates.append((s - s0) / (t - t0))
            t0, s0, minute = t, s, minute + 1
    return rates


def summarize(samples, minutes):
    span = minutes * 60
    early = window_median(samples, span / 6, span / 3)
    late = window_median(samples, span - span / 6, span + 60)
    rates = per_minute_rates(samples)[1:]  # the first minute ramps up
    out = {"rss_early_median_mb": early / 2**20 if early else None,
           "rss_late_median_mb": late / 2**20 if late else None,
           "rss_max_mb": max(r for _, r, _ in samples) / 2**20,
           "rss_drift_pct": 100.0 * (late - early) / early if early and late else None}
    if rates:
        mean = statistics.mean(rates)
        out.update({"rate_per_minute": [round(r) for r in rates],
                    "rate_median": statistics.median(rates), "rate_min": min(rates),
                    "rate_max": max(rates),
                    "rate_cv_pct": 100.0 * statistics.pstdev(rates) / mean if mean else None})
    return out


def query_summary(answers):
    outcome = {}
    for st, _, _ in answers:
        outcome[str(st)] = outcome.get(str(st), 0) + 1
    ok = sorted(ms for st, ms, _ in answers if st == 200)
    return {"outcomes": outcome,
            "ms_median": statistics.median(ok) if ok else None,
            "ms_max": ok[-1] if ok else None}


def soak(args, tmp, rate):
    data = os.path.join(tmp, "data")
    server = Server(args.edgewise, data, args.server_args.split(), grpc_addr="off")
    samples, answers = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=sampler, args=(server, args.sample_seconds, stop, samples)),
               threading.Thread(target=querier, args=(server, args.query_every, stop, answers))]
    ledger, summary = os.path.join(tmp, "ledger.json"), os.path.join(tmp, "summary.json")
    cmd = loadgen_cmd(args.loadgen, server.otlp, args.minutes * 60, rate=rate, ledger=ledger,
                      summary=summary)
    try:
        for t in threads:
            t.start()
        with open(os.path.join(tmp, "loadgen.log"), "w") as log:
            lg = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
        stop.set()
        for t in threads:
            t.join()
        verify_rc, verify_out = verify_ledger(args.loadgen, ledger, server.http)
        codes = http_codes(server.metrics())
        otlp_codes = http_codes(server.metrics(), listener="otlp")
    finally:
        stop.set()
        server.stop()
    with open(summary) as f:
        lsum = json.load(f)
    with open(ledger) as f:
        led = json.load(f)
    result = summarize(samples, args.minutes)
    result.update({
        "loadgen_command": " ".join(cmd), "loadgen_exit": lg.returncode,
        "spans_acked": lsum["spans_acked"], "http_failures": lsum["http_failures"],
        "rejected_spans": lsum["rejected_spans"],
        "achieved_spans_per_s": lsum["spans_acked"] / max(1e-9, lsum["elapsed_s"]),
        "ledger_requests_counted": led.get("requests_counted"),
        "ledger_requests_ambiguous": led.get("requests_ambiguous"),
        "ledger_requests_unacknowledged": led.get("requests_unacknowledged"),
        "http_codes": codes, "otlp_http_codes": otlp_codes,
        "queries": query_summary(answers), "verify_exit": verify_rc, "verify_tail": verify_out,
        "rss_samples": [(round(t, 1), rss) for t, rss, _ in samples]})
    return result


def passed(r):
    return (r["rss_drift_pct"] is not None and r["rss_drift_pct"] < 5.0 and r["verify_exit"] == 0
            and r["http_failures"] == 0 and r["loadgen_exit"] == 0
            and set(r["otlp_http_codes"]) <= {"200"}
            and set(r["queries"]["outcomes"]) <= {"200"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--capacity", type=float, default=0, help="spans/s; measured when 0")
    ap.add_argument("--sample-seconds", type=float, default=5)
    ap.add_argument("--query-every", type=float, default=10)
    ap.add_argument("--server-args", default="--pair-wait 60s",
                    help="extra edgewise flags, space-separated (default: a pair-wait that a "
                    "loadgen falling behind on a busy machine does not outrun)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    args.edgewise = os.path.join(args.build, "server", "edgewise")
    args.loadgen = os.path.join(args.build, "tools", "edgewise-loadgen")
    tmp = tempfile.mkdtemp(prefix="ew-soak-")
    try:
        load_before = load_average()
        capacity, cap_runs = args.capacity, []
        if not capacity:
            capacity, cap_runs = measure_capacity(args.edgewise, args.loadgen, tmp,
                                                  server_args=args.server_args.split())
        rate = capacity / 2
        print(f"capacity {capacity:.0f} spans/s {cap_runs}; soak at {rate:.0f} for "
              f"{args.minutes} min", flush=True)
        r = soak(args, tmp, rate)
        r.update({"capacity_spans_per_s": capacity, "capacity_runs": cap_runs, "rate": rate,
                  "minutes": args.minutes, "load_average_before": load_before,
                  "load_average_after": load_average()})
        r["passed"] = passed(r)
        print(json.dumps({k: v for k, v in r.items() if k != "rss_samples"}, indent=1))
        if args.out:
            save(args.out, r)
        return 0 if r["passed"] else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
