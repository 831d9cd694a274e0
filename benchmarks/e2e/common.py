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

    def __init__(self, binary, data_dir, extra=(), log_path=None):
        self.log = open(log_path or os.path.join(data_dir, "..", os.path.basename(data_dir) + ".log"), "w")
        args = [binary, "--data-dir", data_dir, "--otlp-addr", "127.0.0.1:0",
                "--http-addr", "127.0.0.1:0", "--otlp-grpc-addr", "127.0.0.1:0", *extra]
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
