"""Shared helpers of the end-to-end benchmark harness: processes, /proc readings, HTTP, timing."""
import json
import os
import re
import signal
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ')' that closes comm, field 3 (state) is index 0: utime is field 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def dir_bytes(path, suffix=None):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            if suffix and not name.endswith(suffix):
                continue
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def http_get(host_port, path, timeout=120):
    with urllib.request.urlopen(f"http://{host_port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def timed_get(host_port, path, reps, warmup=2):
    """Median and p99 (nearest rank) of wall milliseconds of GET path, after warm-up calls."""
    for _ in range(warmup):
        http_get(host_port, path)
    ms = []
    for _ in range(reps):
        t = time.perf_counter()
        status, _ = http_get(host_port, path)
        ms.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")
    ms.sort()
    return {"median_ms": statistics.median(ms), "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
            "reps": reps}


class Server:
    """The real edgewise binary on a data directory, ports chosen by the kernel."""

    def __init__(self, binary, data_dir, extra=(), log_path=None, grpc_addr="127.0.0.1:0"):
        os.makedirs(data_dir, exist_ok=True)
        self.log = open(log_path or os.path.join(data_dir, "..", os.path.basename(data_dir) + ".log"), "w")
        args = [binary, "--data-dir", data_dir, "--otlp-addr", "127.0.0.1:0",
                "--http-addr", "127.0.0.1:0", "--otlp-grpc-addr", grpc_addr, *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 120
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"edgewise exited before ready: {' '.join(args)}")
            m = re.search(r"edgewise ready otlp=(\S+) http=(\S+)(?: grpc=(\S+))?", line)
            if m:
                self.otlp, self.http, self.grpc = m.group(1), m.group(2), m.group(3)
                break
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("edgewise did not get ready")
        self.pid = self.proc.pid

    def cpu(self):
        return cpu_seconds(self.pid)

    def rss(self):
        return rss_bytes(self.pid)

    def metrics(self):
        """/metrics as {'name{labels}': value}."""
        _, body = http_get(self.http, "/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=180)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def run(cmd, **kw):
    """Runs a command, returning stdout; raises with its stderr on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return p.stdout


def median(xs):
    return statistics.median(xs) if xs else None


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def quote(q):
    return urllib.parse.quote(q, safe="")


def counter_sum(metrics, name, **labels):
    """Sum of a counter's series whose labels include every given label=value."""
    total = 0.0
    for key, value in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


def http_codes(metrics, listener=None):
    """{code: count} of ew_http_requests_total (of one listener when given)."""
    out = {}
    for key, value in metrics.items():
        if not key.startswith("ew_http_requests_total{"):
            continue
        if listener and f'listener="{listener}"' not in key:
            continue
        m = re.search(r'code="(\d+)"', key)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(value)
    return out


def loadgen_cmd(loadgen, otlp, seconds, rate=0, ledger="", summary="", connections=4,
                extra=()):
    """The ledger-keeping (span-generating) edgewise-loadgen over OTLP/HTTP protobuf."""
    cmd = [loadgen, "--encoding", "proto", "--otlp", otlp, "--duration", f"{int(seconds)}s",
           "--connections", str(connections), "--batch", "512", "--quiet"]
    if rate:
        cmd += ["--rate", str(int(rate))]
    if ledger:
        cmd += ["--ledger", ledger]
    if summary:
        cmd += ["--summary", summary]
    return cmd + list(extra)


def measure_capacity(edgewise, loadgen, tmp, runs=2, seconds=15, server_args=()):
    """Median spans/s of unpaced ledger-mode loadgen runs against a throwaway server (so the
    measured run's data set and ledger stay clean)."""
    data = os.path.join(tmp, "capacity-data")
    server = Server(edgewise, data, list(server_args), grpc_addr="off")
    rates = []
    try:
        for i in range(runs):
            summary = os.path.join(tmp, f"capacity-{i}.json")
            subprocess.run(loadgen_cmd(loadgen, server.otlp, seconds, summary=summary),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            with open(summary) as f:
                s = json.load(f)
            rates.append(s["spans_acked"] / max(1e-9, s["elapsed_s"]))
    finally:
        server.stop()
    return statistics.median(rates), rates


def verify_ledger(loadgen, ledger, http, timeout_s=180, extra=()):
    """Runs `edgewise-loadgen verify`; returns (exit code, last lines of its output)."""
    p = subprocess.run([loadgen, "verify", "--ledger", ledger, "--http", http,
                        "--timeout", f"{timeout_s}s", *extra], capture_output=True, text=True)
    return p.returncode, p.stdout.strip().splitlines()[-20:] + p.stderr.strip().splitlines()[-3:]


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]
