#!/usr/bin/env python3
"""Writes benchmarks/RESULTS.md from the JSON of one run_all.sh run.

Usage: write_results.py --dir RUN_DIR --out benchmarks/RESULTS.md
RUN_DIR holds micro/*.json (Google Benchmark), e2e.json and vm.json (any may be missing).
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import time


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_text(e2e):
    a, b = (e2e or {}).get("loadavg_start"), (e2e or {}).get("loadavg_end")
    return f"{a[0]:.1f} / {b[0]:.1f}" if a and b else "not recorded"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release()}


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    if isinstance(x, (int, float)) and abs(x) >= 1e6:
        return f"{x / 1e6:.2f} M"
    if isinstance(x, (int, float)) and abs(x) >= 1e4:
        return f"{x / 1e3:.0f} k"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def micro_section(run_dir):
    lines = ["## Micro-benchmarks (Google Benchmark)", ""]
    files = sorted(glob.glob(os.path.join(run_dir, "micro", "*.json")))
    if not files:
        return lines + ["No `build/benchmarks/*_bench` executables were built in this run.", ""]
    lines += ["| benchmark | time per iteration | CPU per iteration | items/s | bytes/s |",
              "|---|---|---|---|---|"]
    for path in files:
        doc = load(path)
        if not doc:
            lines.append(f"| {os.path.basename(path)} | failed to run | | | |")
            continue
        for b in doc.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            unit = b.get("time_unit", "ns")
            lines.append(f"| {b['name']} | {b.get('real_time', 0):.1f} {unit} | "
                         f"{b.get('cpu_time', 0):.1f} {unit} | {fmt(b.get('items_per_second'))} | "
                         f"{fmt(b.get('bytes_per_second'))} |")
    return lines + [""]


def storage_section(run_dir):
    """Issue 3's figures from storage_bench's BM_StorageDay counters."""
    doc = load(os.path.join(run_dir, "micro", "storage_bench.json"))
    day = None
    for b in (doc or {}).get("benchmarks", []):
        if b["name"].startswith("BM_StorageDay"):
            day = b
    if day is None:
        return []
    em = day.get("edge_minutes", 0) or 1
    lines = ["## Storage: bytes per edge-minute and flush throughput", "",
             f"`BM_StorageDay` (benchmarks/storage_bench.cc): {fmt(day.get('rollups'))} rollups of "
             f"{fmt(em)} edge-minutes ({day.get('requests', 0) / em:.0f} requests per edge-minute), "
             "one ApplyFlush per minute, then a full compaction. Bytes are the live SST bytes of all "
             "9 tier column families (keys, values, sketches; edge, client and detail families; "
             "minute, hour and day tiers) divided by the edge-minutes holding data.", "",
             "| measure | value | goal |", "|---|---|---|",
             f"| bytes per edge-minute, all tiers and families | {day['bytes_per_edge_minute']:.1f} | ≤ 32 |"]
    for cf in ("edge_1m", "detail_1m", "client_1m"):
        if f"B_{cf}" in day:
            lines.append(f"| of which `{cf}` | {day['B_' + cf] / em:.1f} | |")
    hd = sum(day.get(f"B_{f}_{t}", 0) for f in ("edge", "client", "detail") for t in ("1h", "1d"))
    lines.append(f"| of which hour and day tiers | {hd / em:.1f} | |")
    if "floor_detail_sketch_B_per_edge_minute" in day:
        lines.append(f"| information floor of the detail family's 1 % sketches (no encoding stores "
                     f"them in less) | {day['floor_detail_sketch_B_per_edge_minute']:.1f} | |")
        lines.append(f"| information floor of the edge-level 1 % sketches | "
                     f"{day['floor_edge_sketch_B_per_edge_minute']:.1f} | |")
    lines.append(f"| exemplars per edge-minute (apart) | {day.get('exemplar_bytes_per_edge_minute', 0):.1f} | |")
    lines.append(f"| flush throughput, rollups per flushing-thread CPU-second | {fmt(day.get('rollups_per_cpu_s'))} | |")
    lines.append(f"| flush throughput, rollups per second (wall) | {fmt(day.get('rollups_per_s'))} | |")
    lines += ["", "Command: `build/benchmarks/storage_bench --benchmark_filter=StorageDay` "
              "(EW_BENCH_EDGES=2000, EW_BENCH_MINUTES=1440 by default). The information floor is "
              "explained in docs/format/storage.md.", ""]
    return lines


def ingest_section(e2e):
    lines = ["## Ingest throughput (end to end, real server)", ""]
    ing = (e2e or {}).get("ingest")
    if not ing:
        return lines + ["Not measured in this run" + (f": {e2e.get('error')}" if e2e else "") + ".", ""]
    targets = {"proto": 1.5e6, "gzip": 0.7e6, "json": 0.5e6, "zipkin": 0.5e6,
               "gzip-zipkin": 0.5e6}
    lines += ["Pre-encoded bodies of 512 spans, half of the spans paired across HTTP requests, "
              "keep-alive connections, storage writes on. Spans per **server** CPU-second = spans "
              "acknowledged / (utime+stime of the server process from /proc/PID/stat, including "
              "the flush after the last request).", "",
              "| encoding | runs | spans/server CPU-s (median) | spans/s wall (median, 2 cores shared with loadgen) | goal | goal met |",
              "|---|---|---|---|---|---|"]
    for enc in ("proto", "gzip", "json", "zipkin", "gzip-zipkin"):
        r = ing.get(enc)
        if not r:
            continue
        v = r["median_spans_per_server_cpu_s"]
        lines.append(f"| {enc} | {len(r['runs'])} | {fmt(v)} | {fmt(r['median_spans_per_wall_s'])} | "
                     f"{fmt(targets[enc])} | {'yes' if v and v >= targets[enc] else 'no'} |")
    lines += ["| reference: OpenTelemetry Collector OTLP/HTTP receiver (published) | | ≈ 0.1–0.2 M per core | | | |", ""]
    first = next(iter(ing.values()))["runs"]
    if first:
        lines += ["Command (per encoding): `" + first[0]["command"] + "`", ""]
    return lines


def pending_section(e2e):
    p = (e2e or {}).get("pending")
    lines = ["## Pending memory", ""]
    if not p:
        return lines + ["Not measured in this run.", ""]
    return lines + [
        f"{fmt(p['pending_halves'])} unpaired client halves held with `--pair-wait 30m`: RSS "
        f"{p['rss_before'] / 2**20:.0f} MiB → {p['rss_after'] / 2**20:.0f} MiB, "
        f"**{p['bytes_per_pending_half']:.1f} B per pending half** (goal ≤ 48 B; count "
        f"{'from the server metrics' if p['pending_from_metrics'] else '= spans sent'}). "
        "RSS is the median of ten samples over 5 s once the pending count stopped growing and six "
        "more ingest flushes (12 s) completed"
        + (f"; the largest RSS seen during the load and its flushes was {p['rss_peak'] / 2**20:.0f} MiB "
           f"({p['peak_bytes_per_pending_half']:.1f} B per half: a flush briefly holds the new halves' "
           "pending chunks, write batch and memtable copies)" if 'rss_peak' in p else "") + ".", "",
        "Command: `" + p["command"] + "`", ""]


def ratio(a, b):
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}×"


def vm_version(vm):
    v = (vm or {}).get("version")
    if v and v != "?":
        return v
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def better(ew, vm, lower_is_better):
    if not ew or not vm:
        return ""
    return "Edgewise" if (ew < vm) == lower_is_better else "VictoriaMetrics"


def peer_section(e2e, vm):
    r = (e2e or {}).get("rollups")
    lines = ["## Side by side: Edgewise and VictoriaMetrics on the same rollups", ""]
    if not r:
        return lines + ["Not measured in this run.", ""]
    s = r["summary"]
    q = r.get("queries", {})
    vq = (vm or {}).get("queries", {})
    lines += [f"{s['edges']} edges × {s['edge_minutes'] // max(1, s['edges'])} minutes = "
              f"{s['edge_minutes']} edge-minutes of synthetic rollups (`{r['command']}`), written "
              "into Edgewise's store with ApplyFlush (all three tiers and both families, one "
              "exemplar per rollup, server- and client-side sketches) and into VictoriaMetrics "
              f"{vm_version(vm)} as the Tempo service-graph series "
              "(`traces_service_graph_request_total`, `_request_failed_total`, "
              "`_request_server_seconds_*` and `_request_client_seconds_*` with Tempo's 8 default "
              "buckets, one sample per minute) through `/api/v1/import`.", "",
              "| measure | Edgewise | VictoriaMetrics | VM ÷ Edgewise | better |", "|---|---|---|---|---|"]
    ew_b, vm_b = r.get("bytes_per_edge_minute"), (vm or {}).get("bytes_per_edge_minute")
    lines.append(f"| bytes on disk per edge-minute (all files) | {ew_b:.1f} | "
                 f"{vm_b if vm_b is None else f'{vm_b:.1f}'} | {ratio(vm_b, ew_b)} | {better(ew_b, vm_b, True)} |")
    lines.append(f"| bytes per edge-minute (Edgewise table files only) | {r['sst_bytes_per_edge_minute']:.1f} | | | |")
    ew_i = r.get("edge_minutes_per_cpu_s")
    vm_i = (vm or {}).get("import", {}).get("edge_minutes_per_cpu_s")
    lines.append(f"| ingest of the rollups, edge-minutes per CPU-second | {fmt(ew_i)} | {fmt(vm_i)} | "
                 f"{ratio(vm_i, ew_i)} | {better(ew_i, vm_i, False)} |")
    for name in ("1h", "7d"):
        e, v, vf = q.get(f"map_{name}"), vq.get(f"map_{name}"), vq.get(f"full_map_{name}")
        if e:
            lines.append(f"| map {name}, median ms (Edgewise: full map; VM: requests only) | "
                         f"{e['median_ms']:.2f} | {v['median_ms'] if v else float('nan'):.2f} | "
                         f"{ratio(v and v['median_ms'], e['median_ms'])} | "
                         f"{better(e['median_ms'], v and v['median_ms'], True)} |")
            lines.append(f"| map {name}, p99 ms | {e['p99_ms']:.2f} | "
                         f"{v['p99_ms'] if v else float('nan'):.2f} | {ratio(v and v['p99_ms'], e['p99_ms'])} | "
                         f"{better(e['p99_ms'], v and v['p99_ms'], True)} |")
            if vf:
                lines.append(f"| map {name}, median ms, VM full map (requests + failures + p99: 3 queries) | "
                             f"{e['median_ms']:.2f} | {vf['median_ms']:.2f} | {ratio(vf['median_ms'], e['median_ms'])} | "
                             f"{better(e['median_ms'], vf['median_ms'], True)} |")
    for name in ("map_90d", "service_7d"):
        e = q.get(name)
        if e:
            lines.append(f"| {name.replace('_', ' ')}, median / p99 ms | {e['median_ms']:.2f} / {e['p99_ms']:.2f} | | | |")
    lines += ["", "Goals (issue 7): Edgewise ≥ 10× faster than VictoriaMetrics on the 7 d map, and no "
              "more bytes per edge-minute.", "",
              "Latencies are wall time of the HTTP request on a kept-alive loopback connection "
              f"({q.get('map_1h', {}).get('reps', '?')} repetitions after 2 warm-ups), VM's result cache off. "
              "Edgewise's answer carries exact counts, errors and p50/p90/p95/p99 within 1 %; VM's "
              "histogram quantiles are interpolated inside 8 fixed buckets.", ""]
    if vm and vm.get("error"):
        lines += [f"VictoriaMetrics run failed: {vm['error']}", ""]
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--command", default="benchmarks/run_all.sh")
    args = p.parse_args()
    e2e = load(os.path.join(args.dir, "e2e.json"))
    vm = load(os.path.join(args.dir, "vm.json"))
    m = machine()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    lines = ["# Edgewise benchmark results", "",
             f"Generated by `{args.command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
             f"at commit {commit}. Regenerate with `benchmarks/run_all.sh` (see README).", "",
             f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, Linux {m['kernel']}. "
             "The load generator runs on the same machine; throughput is divided by the server's "
             "own CPU time so its share does not count. Load average (1 min) at the start and end "
             f"of the end-to-end run: {load_text(e2e)} (other work on the machine inflates wall-clock "
             "latencies; CPU-time figures are less affected).", ""]
    generated = ingest_section(e2e) + pending_section(e2e) + storage_section(args.dir) + peer_section(e2e, vm) + micro_section(args.dir)
    lines += merge_sections(read_sections(args.out), split_sections(generated))
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def split_sections(lines):
    """[(heading, lines)] for each '## ' section; text before the first heading is dropped."""
    out = []
    for line in lines:
        if line.startswith("## "):
            out.append((line, [line]))
        elif out:
            out[-1][1].append(line)
    return out


def read_sections(path):
    try:
        with open(path) as f:
            return split_sections(f.read().splitlines())
    except OSError:
        return []


def merge_sections(existing, generated):
    """The existing file's sections in their order, those this script writes replaced by the new
    run; hand-written sections (restart, fuzzing, the model check, histories) are kept as they are;
    new generated sections go at the end."""
    gen = dict(generated)
    out, used = [], set()
    for heading, body in existing:
        if heading in gen:
            out += gen[heading]
            used.add(heading)
        else:
            out += body
    for heading, body in generated:
        if heading not in used:
            out += body
    return out


if __name__ == "__main__":
    main()
