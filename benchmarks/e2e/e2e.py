#!/usr/bin/env python3
"""End-to-end benchmarks of Edgewise against the real server binary.

  - ingest: spans per *server* CPU-second (utime+stime of the server from /proc/PID/stat, so the
    load generator's CPU is not counted) for pre-encoded OTLP protobuf, gzip protobuf and JSON,
    batches of 512 spans, half of the spans paired across HTTP requests; encodings "grpc" and
    "grpc-gzip" send the same protobuf bodies over OTLP/gRPC (gzip: gRPC message compression),
    "zipkin" and "gzip-zipkin" the same spans as Zipkin v2 JSON to POST /api/v2/spans;
  - pending memory per unpaired half (RSS growth over the pending halves);
  - a 7-day rollup store (the same rollups the VictoriaMetrics peer gets): bytes on disk per
    edge-minute and map query latency over 1 h, 7 d and 90 d and for one service.

Writes one JSON document (--out). Usage: e2e.py --build build --out results.json [--quick]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, dir_bytes, median, run, save, timed_get  # noqa: E402


def ingest_run(args, tmp, encoding, i):
    data = os.path.join(tmp, f"ingest-{encoding}-{i}")
    os.makedirs(data)
    server = Server(args.edgewise, data, ["--pair-wait", "10s", "--flush-interval", "2s"])
    try:
        time.sleep(1)
        cpu0 = server.cpu()
        summary = os.path.join(tmp, f"summary-{encoding}-{i}.json")
        transport = ["--encoding", encoding, "--otlp", server.otlp]
        if encoding.startswith("grpc"):
            transport = ["--encoding", "gzip" if encoding == "grpc-gzip" else "proto",
                         "--grpc", server.grpc]
        cmd = [args.loadgen, "--preencoded", *transport,
               "--duration", f"{args.seconds}s", "--connections", str(args.connections),
               "--batch", "512", "--bodies", "64", "--quiet", "--summary", summary]
        run(cmd)
        time.sleep(3)  # the flush of the last interval is part of the cost
        cpu1 = server.cpu()
        with open(summary) as f:
            s = json.load(f)
        return {"spans": s["spans_acked"], "server_cpu_s": cpu1 - cpu0,
                "wall_s": s["elapsed_s"], "failures": s["http_failures"],
                "spans_per_server_cpu_s": s["spans_acked"] / max(1e-9, cpu1 - cpu0),
                "spans_per_wall_s": s["spans_per_s"], "command": " ".join(cmd)}
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def ingest_summary(runs):
    return {"runs": runs,
            "median_spans_per_server_cpu_s": median([r["spans_per_server_cpu_s"] for r in runs]),
            "median_spans_per_wall_s": median([r["spans_per_wall_s"] for r in runs])}


def ingest(args, tmp, encoding):
    return ingest_summary([ingest_run(args, tmp, encoding, i) for i in range(args.runs)])


def ingest_interleaved(args, tmp, encodings):
    """Run i of every encoding, then run i + 1 of every encoding: A/B under the same load."""
    runs = {enc: [] for enc in encodings}
    for i in range(args.runs):
        for enc in encodings:
            runs[enc].append(ingest_run(args, tmp, enc, i))
    return {enc: ingest_summary(r) for enc, r in runs.items()}


def pending_memory(args, tmp):
    """RSS per pending unpaired half, once the server holds them all and is settled.

    After the load, waits until the pending count stops growing and six more ingest flushes
    (12 s: they persist the new halves, and free memory goes back at least every 10 s) complete, then samples RSS ten
    times over 5 s: the median is the steady cost of holding the halves; the largest RSS seen
    from the start of the load on is reported as the peak (it includes transient copies of a
    flush: the pending chunks, the write batch and RocksDB's memtable)."""
    data = os.path.join(tmp, "pending")
    os.makedirs(data)
    server = Server(args.edgewise, data, ["--pair-wait", "30m", "--flush-interval", "2s",
                                          "--max-pending", "50000000"])
    try:
        time.sleep(1)
        rss0 = server.rss()
        requests = args.pending_spans // 512
        cmd = [args.loadgen, "--preencoded", "--unpaired", "--otlp", server.otlp, "--requests",
               str(requests), "--connections", "2", "--bodies", "64", "--quiet"]
        peak = [rss0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], server.rss())
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            run(cmd)

            def count(metrics, prefix):
                for name, value in metrics.items():
                    if name == prefix:
                        return value
                return None

            pending, last, flushes_at_settle = None, -1, None
            deadline = time.time() + 120
            while time.time() < deadline:
                m = server.metrics()
                pending = count(m, "ew_pending_halves")
                flushes = count(m, "ew_storage_flushes_total") or 0
                if pending is not None and pending == last and flushes_at_settle is None:
                    flushes_at_settle = flushes
                # Six flushes (12 s at --flush-interval 2s): the flusher gives less than 48 MiB
                # of free heap back at most every 10 s.
                if flushes_at_settle is not None and flushes >= flushes_at_settle + 6:
                    break
                last = pending
                time.sleep(0.5)
            samples = []
            for _ in range(10):
                samples.append(server.rss())
                time.sleep(0.5)
        finally:
            stop.set()
            watcher.join()
        rss1 = median(samples)
        sent = requests * 512
        count_ = pending or sent
        return {"pending_halves": count_, "pending_from_metrics": pending is not None,
                "rss_before": rss0, "rss_after": rss1, "rss_peak": peak[0],
                "bytes_per_pending_half": (rss1 - rss0) / max(1, count_),
                "peak_bytes_per_pending_half": (peak[0] - rss0) / max(1, count_),
                "command": " ".join(cmd)}
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def rollup_store(args, tmp):
    """Backfills days of rollups, measures bytes on disk and map query latency."""
    data = os.path.join(tmp, "rollups")
    vm_file = os.path.join(tmp, "vm-import.jsonl")
    cmd = [args.loadgen, "rollups", "--data-dir", data, "--days", str(args.days),
           "--services", str(args.services), "--vm-out", vm_file]
    summary = json.loads(run(cmd).strip().splitlines()[-1])
    store = os.path.join(data, "db")
    result = {"command": " ".join(cmd), "summary": summary,
              "bytes_on_disk": dir_bytes(store), "sst_bytes": dir_bytes(store, ".sst"),
              "vm_import_file": vm_file}
    result["bytes_per_edge_minute"] = result["bytes_on_disk"] / summary["edge_minutes"]
    result["sst_bytes_per_edge_minute"] = result["sst_bytes"] / summary["edge_minutes"]
    result["edge_minutes_per_cpu_s"] = summary["edge_minutes"] / max(1e-9, summary["store_cpu_seconds"])
    server = Server(args.edgewise, data, [])
    try:
        end = summary["end_minute"] * 60
        q = {}
        for name, span in (("1h", 3600), ("7d", 7 * 86400), ("90d", 90 * 86400)):
            q[f"map_{name}"] = timed_get(server.http, f"/api/v1/map?start={end - span}&end={end}",
                                         args.reps)
        q["service_7d"] = timed_get(
            server.http, f"/api/v1/service?namespace=shop&name=frontend&start={end - 7 * 86400}&end={end}",
            args.reps)
        result["queries"] = q
    finally:
        server.stop()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--out", required=True)
    p.add_argument("--tmp", default=None)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=2)
    p.add_argument("--pending-spans", type=int, default=2_000_000)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--services", type=int, default=12)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="1 run of 5 s, 500k pending, 2 days")
    p.add_argument("--only", default="ingest,pending,rollups")
    p.add_argument("--encodings", default="proto,gzip,json",
                   help="ingest encodings to measure (comma-separated; also grpc, grpc-gzip, "
                        "zipkin, gzip-zipkin)")
    p.add_argument("--interleave", action="store_true",
                   help="ingest: alternate the encodings run by run instead of one after another")
    args = p.parse_args()
    if args.quick:
        args.runs, args.seconds, args.pending_spans, args.days, args.reps = 1, 5, 500_000, 2, 10
    args.edgewise = os.path.join(args.build, "server", "edgewise")
    args.loadgen = os.path.join(args.build, "tools", "edgewise-loadgen")
    tmp = tempfile.mkdtemp(prefix="ew-bench-", dir=args.tmp)
    out = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "tmp": tmp,
           "params": {k: v for k, v in vars(args).items()}, "loadavg_start": os.getloadavg()}
    only = args.only.split(",")
    try:
        if "ingest" in only:
            out["ingest"] = {}
            if args.interleave:
                print(f"e2e: ingest {args.encodings}, interleaved ...", file=sys.stderr, flush=True)
                out["ingest"] = ingest_interleaved(args, tmp, args.encodings.split(","))
                save(args.out, out)
            for enc in ([] if args.interleave else args.encodings.split(",")):
                print(f"e2e: ingest {enc} ...", file=sys.stderr, flush=True)
                out["ingest"][enc] = ingest(args, tmp, enc)
                save(args.out, out)
        if "pending" in only:
            print("e2e: pending memory ...", file=sys.stderr, flush=True)
            out["pending"] = pending_memory(args, tmp)
            save(args.out, out)
        if "rollups" in only:
            print("e2e: 7-day rollup store ...", file=sys.stderr, flush=True)
            out["rollups"] = rollup_store(args, tmp)
    except Exception as e:  # keep what was measured
        out["error"] = str(e)
        print(f"e2e: {e}", file=sys.stderr)
    out["loadavg_end"] = os.getloadavg()
    save(args.out, out)
    return 1 if "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
