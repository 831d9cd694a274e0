#!/usr/bin/env python3
"""Soak: the real server under half its measured ingest capacity for a long time.

  1. capacity: two unpaced runs of the ledger-keeping edgewise-loadgen (protobuf, 4 connections,
     batches of 512; the spans are generated, so the loadgen may be the limit) against a
     throwaway server; the median spans/s is the capacity C (or --capacity C);
  2. a fresh server (`--otlp-grpc-addr off`, ports chosen by the kernel) gets C × --fraction
     (default 1/2) spans/s for --minutes (default 30) from `edgewise-loadgen --rate R --ledger`,
     while a client asks for the map (`/api/v1/map?start=now-15m`, every 4th time `now-1h`)
     every --query-every seconds; every --sample-seconds the server's memory is sampled:
     VmRSS, RssAnon and RssFile from /proc, and from /metrics RocksDB's memtables, block cache
     and table readers (`ew_storage_*_bytes`), the glibc heap in use and kept free
     (`ew_memory_heap_*_bytes`) and `ew_spans_received_total`;
  3. at the end, `edgewise-loadgen verify` checks the map, minute by minute, against the ledger of
     acknowledged traffic.

Reported: memory drift = median RSS of the last sixth of the run (minutes 25-30 of 30) against
the median of its second sixth (minutes 5-10), goal < 5 %; the same for RSS minus RocksDB's
memory (memtables + block cache + table readers) and for each part on its own (medians per
sixth, growth, slope over the last third), and a verdict naming the part that grew most
(RocksDB's three, the server's own heap = heap in use minus RocksDB's, malloc's free memory,
file-backed pages). The drift goal holds on RSS, or on RSS minus RocksDB's memory while the
write buffers and block cache stay within their bounds (128 / 256 MiB); the ingest rate per minute (median,
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


# The server's memory, sampled from /proc and /metrics: what RocksDB holds (memtables, block
# cache, table readers: bounded by its settings and the data size), the glibc heap (allocated,
# and freed but kept), and resident memory by kind.
GAUGES = {"memtables": "ew_storage_memtable_bytes", "block_cache": "ew_storage_block_cache_bytes",
          "table_readers": "ew_storage_table_readers_bytes",
          "heap_in_use": "ew_memory_heap_in_use_bytes", "heap_free": "ew_memory_heap_free_bytes"}
ROCKSDB = ("memtables", "block_cache", "table_readers")


def proc_memory(pid):
    """{rss, rss_anon, rss_file} in bytes from /proc/PID/status."""
    keys = {"VmRSS:": "rss", "RssAnon:": "rss_anon", "RssFile:": "rss_file"}
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k = line.split(None, 1)[0] if line.strip() else ""
            if k in keys:
                out[keys[k]] = int(line.split()[1]) * 1024
    return out


def sample(server, t):
    """One sample: seconds, spans received, /proc memory, the gauges, and the derived parts."""
    s = {"t": t, **proc_memory(server.pid)}
    try:
        m = server.metrics()
        s["spans"] = counter_sum(m, "ew_spans_received_total")
        for key, name in GAUGES.items():
            s[key] = m.get(name)
    except OSError:
        s["spans"] = None
    if all(s.get(k) is not None for k in ROCKSDB):
        s["rocksdb"] = sum(s[k] for k in ROCKSDB)
        s["rss_minus_rocksdb"] = s["rss"] - s["rocksdb"]
        if s.get("heap_in_use") is not None:
            s["heap_ours"] = s["heap_in_use"] - s["rocksdb"]  # RocksDB allocates with malloc
    return s


def sampler(server, every_s, stop, out):
    """Appends a sample() every every_s seconds."""
    t0 = time.time()
    while not stop.is_set():
        out.append(sample(server, time.time() - t0))
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


def window_median(samples, key, lo_s, hi_s):
    vals = [x[key] for x in samples if lo_s <= x["t"] < hi_s and x.get(key) is not None]
    return statistics.median(vals) if vals else None


def per_minute_rates(samples):
    """Spans/s over each whole minute of the samples (from the received-spans counter)."""
    rates, minute = [], 1
    pts = [(x["t"], x["spans"]) for x in samples if x.get("spans") is not None]
    if not pts:
        return rates
    t0, s0 = pts[0]
    for t, s in pts:
        if t >= minute * 60:
            rates.append((s - s0) / (t - t0))
            t0, s0, minute = t, s, minute + 1
    return rates


COMPONENTS = ("rss", "rss_anon", "rss_file", "rss_minus_rocksdb", *ROCKSDB, "heap_ours",
              "heap_free")


def memory_summary(samples, span):
    """Per component: the median of each sixth of the run (MiB), the drift of the last sixth
    against the second (%, MiB) and the slope over the last third (MiB per 10 minutes)."""
    out = {}
    for key in COMPONENTS:
        sixths = [window_median(samples, key, i * span / 6,
                                (i + 1) * span / 6 + (60 if i == 5 else 0)) for i in range(6)]
        early, late = sixths[1], sixths[5]
        if early is None or late is None:
            continue
        third = [(x["t"], x[key]) for x in samples
                 if x["t"] >= span * 2 / 3 and x.get(key) is not None]
        slope = None
        if len(third) > 2:
            mt = statistics.mean(t for t, _ in third)
            mv = statistics.mean(v for _, v in third)
            den = sum((t - mt) ** 2 for t, _ in third)
            slope = sum((t - mt) * (v - mv) for t, v in third) / den * 600 / 2**20 if den else None
        out[key] = {"sixths_mb": [round(v / 2**20, 1) if v is not None else None for v in sixths],
                    "early_mb": early / 2**20, "late_mb": late / 2**20,
                    "growth_mb": (late - early) / 2**20,
                    "drift_pct": 100.0 * (late - early) / early if early > 0 else None,
                    "last_third_mb_per_10min": slope}
    return out


def verdict(mem):
    """Which part of resident memory grew: RocksDB's (bounded) parts, the server's own heap,
    malloc's kept free memory, or file-backed pages."""
    parts = {k: mem[k]["growth_mb"] for k in (*ROCKSDB, "heap_ours", "heap_free", "rss_file")
             if k in mem}
    if not parts or "rss" not in mem:
        return "no gauges (an older server?)"
    grew = max(parts, key=parts.get)
    listing = ", ".join(f"{k} {v:+.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
    return (f"RSS {mem['rss']['growth_mb']:+.1f} MiB; most growth in {grew} "
            f"({parts[grew]:+.1f} MiB); all parts (MiB): {listing}")


def summarize(samples, minutes):
    span = minutes * 60
    mem = memory_summary(samples, span)
    rates = per_minute_rates(samples)[1:]  # the first minute ramps up
    rss = mem.get("rss", {})
    ours = mem.get("rss_minus_rocksdb", {})
    out = {"rss_early_median_mb": rss.get("early_mb"), "rss_late_median_mb": rss.get("late_mb"),
           "rss_max_mb": max(x["rss"] for x in samples) / 2**20,
           "rss_drift_pct": rss.get("drift_pct"),
           "rss_minus_rocksdb_drift_pct": ours.get("drift_pct"),
           "memory": mem, "memory_verdict": verdict(mem)}
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
        "samples": [{k: (round(v, 1) if k == "t" else v) for k, v in x.items()} for x in samples]})
    return result


MEMTABLE_BOUND, BLOCK_CACHE_BOUND = 128 * 2**20, 256 * 2**20  # storage/edge_store_open.cc


def drift_ok(r):
    """The < 5 % goal, on RSS; or on RSS minus RocksDB's memory while RocksDB's write buffers
    and block cache stay within their configured bounds (filling a bounded cache is not drift).
    Returns which of the two held ("rss", "rss_minus_rocksdb") or None."""
    if r["rss_drift_pct"] is not None and r["rss_drift_pct"] < 5.0:
        return "rss"
    mx = {k: max((x.get(k) or 0) for x in r["samples"]) for k in ("memtables", "block_cache")}
    ours = r["rss_minus_rocksdb_drift_pct"]
    if (ours is not None and ours < 5.0 and mx["memtables"] <= MEMTABLE_BOUND
            and mx["block_cache"] <= BLOCK_CACHE_BOUND):
        return "rss_minus_rocksdb"
    return None


def passed(r):
    return (r["drift_goal_met_on"] is not None and r["verify_exit"] == 0
            and r["http_failures"] == 0 and r["loadgen_exit"] == 0
            and set(r["otlp_http_codes"]) <= {"200"}
            and set(r["queries"]["outcomes"]) <= {"200"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--capacity", type=float, default=0, help="spans/s; measured when 0")
    ap.add_argument("--fraction", type=float, default=0.5,
                    help="the soak's rate as a fraction of the capacity")
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
        rate = capacity * args.fraction
        print(f"capacity {capacity:.0f} spans/s {cap_runs}; soak at {rate:.0f} for "
              f"{args.minutes} min", flush=True)
        r = soak(args, tmp, rate)
        r.update({"capacity_spans_per_s": capacity, "capacity_runs": cap_runs, "rate": rate,
                  "minutes": args.minutes, "load_average_before": load_before,
                  "load_average_after": load_average()})
        r["drift_goal_met_on"] = drift_ok(r)
        r["passed"] = passed(r)
        print(json.dumps({k: v for k, v in r.items() if k != "samples"}, indent=1))
        if args.out:
            save(args.out, r)
        return 0 if r["passed"] else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
