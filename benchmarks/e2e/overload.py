#!/usr/bin/env python3
"""Overload: the real server saturated by ingest for minutes, then back to normal.

  1. capacity C: as in soak.py, the median of two unpaced runs of the ledger-keeping
     edgewise-loadgen against a throwaway server (or --capacity C);
  2. a fresh server (`--otlp-grpc-addr off`, `--pair-wait 60s`, `--max-pending M`) gets the
     normal load, C/2 spans/s from `edgewise-loadgen --rate C/2 --ledger` for the whole run
     (--before + --blast + --after seconds); during --blast seconds, pre-encoded blasters
     (`edgewise-loadgen --preencoded --namespace-prefix ov-`, 3 processes of 4 connections, i.e.
     3 times the connections of the capacity run, each as fast as the server answers) send on
     edges of their own;
  3. checks: the OTLP listener answered only 200, 429 or 503 (ew_http_requests_total) and no
     loadgen saw another failure; the server's RSS (sampled every second) stayed under the
     memory budget = RSS before the blast + M x 400 B (benchmarks/RESULTS.md "Pending memory":
     43 B per held half, < 170 B per half at a flush's peak) + the store's bounds (RocksDB write buffers 128 MiB, block
     cache 256 MiB: storage/edge_store_open.cc); the normal load's rate (the loadgen's acknowledged spans,
     per second) is back to >= 90 % of its rate before the blast (at most C/2) over 5 s within
     30 s of the blast's end; and
     `edgewise-loadgen verify --ignore-extra` finds the map equal to the ledger of the normal
     load's acknowledged traffic, minute by minute (the blasters' edges are the extra ones).
Exit 1 when a check fails.

    nice -n 10 python3 benchmarks/e2e/overload.py --build build --blast 180 --out overload.json
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Server, counter_sum, http_codes, load_average, loadgen_cmd,  # noqa: E402
                    measure_capacity, save, verify_ledger)

BYTES_PER_PENDING_HALF = 400
# The store's own bounds (storage/edge_store_open.cc): RocksDB write buffers of all column
# families (db_write_buffer_size) and the block cache.
ROCKSDB_WRITE_BUFFERS = 128 << 20
ROCKSDB_BLOCK_CACHE = 256 << 20


def sampler(server, stop, out, t0):
    while not stop.is_set():
        try:
            m = server.metrics()
            spans, pending = counter_sum(m, "ew_spans_received_total"), m.get("ew_pending_halves")
        except OSError:
            spans, pending = None, None
        out.append((time.time() - t0, server.rss(), spans, pending))
        stop.wait(1.0)


def progress(log_path):
    """(second, acknowledged spans) from the loadgen's progress lines."""
    pts = []
    with open(log_path) as f:
        for line in f:
            m = re.search(r"loadgen:\s+(\d+)s\s+rate=\S+ spans/s\s+acked=(\d+)", line)
            if m:
                pts.append((int(m.group(1)), int(m.group(2))))
    out = {}
    for s, acked in pts:  # the last line of each second
        out[s] = acked
    return sorted(out.items())


def per_second(pts):
    return [(s, a - pa) for (ps, pa), (s, a) in zip(pts, pts[1:]) if s == ps + 1]


def recovery_seconds(rates, blast_end, target):
    """Seconds after blast_end until the 5 s mean of the normal load is >= 90 % of target."""
    by_s = dict(rates)
    for s in range(math.ceil(blast_end), max(by_s, default=0) - 4):
        window = [by_s.get(s + k) for k in range(5)]
        if None not in window and statistics.mean(window) >= 0.9 * target:
            return s - blast_end
    return None


def phase_rate(rates, lo, hi):
    vals = [r for s, r in rates if lo <= s < hi]
    return statistics.median(vals) if vals else None


def server_rate(samples, lo, hi):
    pts = [(t, s) for t, _, s, _ in samples if s is not None and lo <= t < hi]
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) if len(pts) > 1 else None


def blast(args, server, tmp):
    procs = []
    for i in range(args.blasters):
        summary = os.path.join(tmp, f"blast-{i}.json")
        cmd = [args.loadgen, "--preencoded", "--otlp", server.otlp, "--connections", "4",
               "--duration", f"{args.blast}s", "--namespace-prefix", "ov-", "--seed",
               str(11 + i), "--quiet", "--summary", summary]
        log = open(os.path.join(tmp, f"blast-{i}.log"), "w")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, summary,
                      cmd))
    out = []
    for p, log, summary, cmd in procs:
        p.wait()
        log.close()
        with open(summary) as f:
            s = json.load(f)
        s["exit"] = p.returncode
        out.append(s)
    return out, " ".join(procs[0][3])


def run(args, tmp, rate):
    server = Server(args.edgewise, os.path.join(tmp, "data"),
                    ["--pair-wait", "60s", "--max-pending", str(args.max_pending),
                     *args.server_args.split()], grpc_addr="off")
    samples, stop, t0 = [], threading.Event(), time.time()
    th = threading.Thread(target=sampler, args=(server, stop, samples, t0))
    ledger, lsum, llog = (os.path.join(tmp, n) for n in ("ledger.json", "normal.json",
                                                          "normal.log"))
    total = args.before + args.blast + args.after
    cmd = loadgen_cmd(args.loadgen, server.otlp, total, rate=rate, ledger=ledger, summary=lsum)
    cmd.remove("--quiet")  # its per-second progress lines give the normal load's rate
    try:
        th.start()
        with open(llog, "w") as log:
            normal = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            time.sleep(args.before)
            blast_start = time.time() - t0
            blasts, blast_cmd = blast(args, server, tmp)
            blast_end = time.time() - t0
            normal.wait()
        time.sleep(3)
        stop.set()
        th.join()
        verify_rc, verify_out = verify_ledger(args.loadgen, ledger, server.http,
                                              extra=["--ignore-extra"])
        codes = http_codes(server.metrics(), listener="otlp")
        refused = counter_sum(server.metrics(), "ew_spans_refused_total")
        evicted = counter_sum(server.metrics(), "ew_halves_expired_total", kind="evicted")
        queue_full = counter_sum(server.metrics(), "ew_ingest_queue_full_total")
    finally:
        stop.set()
        server.stop()
    with open(lsum) as f:
        normal_sum = json.load(f)
    r = report(args, rate, samples, per_second(progress(llog)), normal_sum, blasts,
               (blast_start, blast_end, total))
    r.update({"normal_command": " ".join(cmd), "blast_command": blast_cmd,
              "normal_exit": normal.returncode, "otlp_http_codes": codes,
              "spans_refused": refused, "ingest_queue_full": queue_full,
              "halves_evicted": evicted, "verify_exit": verify_rc, "verify_tail": verify_out})
    return r


def report(args, rate, samples, rates, normal_sum, blasts, times):
    """The figures of a run from its samples, the normal load's per-second rates (the
    loadgen's clock starts a moment after ours: close enough) and the loadgens' summaries."""
    blast_start, blast_end, total = times
    before_rss = [r for t, r, _, _ in samples if t < blast_start]
    budget = (statistics.median(before_rss) + args.max_pending * BYTES_PER_PENDING_HALF +
              ROCKSDB_WRITE_BUFFERS + ROCKSDB_BLOCK_CACHE)
    blast_acked = sum(b["spans_acked"] for b in blasts)
    return {
        "blasters": args.blasters, "normal_http_failures": normal_sum["http_failures"],
        "normal_spans_acked": normal_sum["spans_acked"],
        "blast_exits": [b["exit"] for b in blasts],
        "blast_http_failures": sum(b["http_failures"] for b in blasts),
        "blast_spans_acked": blast_acked,
        "blast_spans_per_s": blast_acked / max(1e-9, blast_end - blast_start),
        "server_spans_per_s": {"before": server_rate(samples, 0, blast_start),
                               "blast": server_rate(samples, blast_start, blast_end),
                               "after": server_rate(samples, blast_end + 30, total + 5)},
        "normal_rate_median": {"before": phase_rate(rates, 5, blast_start),
                               "blast": phase_rate(rates, blast_start, blast_end),
                               "after": phase_rate(rates, blast_end + 30, total)},
        # Full rate: what the normal load reached before the blast (on a busy machine a paced
        # loadgen may stay a little under its --rate), at most --rate.
        "recovery_s": recovery_seconds(rates, blast_end,
                                       min(rate, phase_rate(rates, 5, blast_start) or rate)),
        "pending_halves_max": max((p for _, _, _, p in samples if p is not None), default=None),
        "rss_before_mb": statistics.median(before_rss) / 2**20,
        "rss_max_mb": max(r for _, r, _, _ in samples) / 2**20, "rss_budget_mb": budget / 2**20,
        "normal_rate_per_s": rates, "rss_samples": [(round(t, 1), r, p) for t, r, _, p in samples]}


def passed(r):
    return (set(r["otlp_http_codes"]) <= {"200", "429", "503"} and r["normal_http_failures"] == 0
            and r["blast_http_failures"] == 0 and r["rss_max_mb"] <= r["rss_budget_mb"]
            and r["recovery_s"] is not None and r["recovery_s"] <= 30 and r["verify_exit"] == 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--capacity", type=float, default=0, help="spans/s; measured when 0")
    ap.add_argument("--before", type=int, default=60)
    ap.add_argument("--blast", type=int, default=180)
    ap.add_argument("--after", type=int, default=60)
    ap.add_argument("--blasters", type=int, default=3)
    ap.add_argument("--max-pending", type=int, default=1_000_000)
    ap.add_argument("--server-args", default="", help="extra edgewise flags, space-separated")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    args.edgewise = os.path.join(args.build, "server", "edgewise")
    args.loadgen = os.path.join(args.build, "tools", "edgewise-loadgen")
    tmp = tempfile.mkdtemp(prefix="ew-overload-")
    try:
        load_before = load_average()
        capacity, cap_runs = args.capacity, []
        if not capacity:
            capacity, cap_runs = measure_capacity(args.edgewise, args.loadgen, tmp)
        print(f"capacity {capacity:.0f} spans/s {cap_runs}; normal load {capacity / 2:.0f}",
              flush=True)
        r = run(args, tmp, capacity / 2)
        r.update({"capacity_spans_per_s": capacity, "capacity_runs": cap_runs,
                  "rate": capacity / 2, "blast_over_capacity": r["blast_spans_per_s"] / capacity,
                  "load_average_before": load_before, "load_average_after": load_average()})
        r["passed"] = passed(r)
        print(json.dumps({k: v for k, v in r.items()
                          if k not in ("rss_samples", "normal_rate_per_s")}, indent=1))
        if args.out:
            save(args.out, r)
        return 0 if r["passed"] else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
