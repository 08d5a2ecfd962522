#!/usr/bin/env python3
"""Measurements for scripts/bench: cold start, warm latency/throughput (wrk), binary size, idle RSS.

Reads the function binaries from --bin-dir (a release build) and talks to them over loopback only.
Writes one JSON document (and prints a short table). Every request loop is bounded in count and time.
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import http.client


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path, headers=None, timeout=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    res = conn.getresponse()
    res.read()
    conn.close()
    return res.status


def spawn(bin_path, port, env):
    e = {"PATH": os.environ.get("PATH", ""), "VERCEL_DEV_PORT": str(port), "RUST_LOG": "warn"}
    e.update(env)
    return subprocess.Popen([bin_path], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cold_start(bin_path, path, env, runs):
    """Spawn → first 200, polling as fast as the OS allows (bounded to 10 s per run)."""
    samples = []
    for _ in range(runs):
        port = free_port()
        t0 = time.perf_counter()
        p = spawn(bin_path, port, env)
        try:
            deadline = t0 + 10
            while time.perf_counter() < deadline:
                try:
                    if get(port, path, timeout=1.0) == 200:
                        samples.append((time.perf_counter() - t0) * 1000)
                        break
                except OSError:
                    time.sleep(0.0005)
        finally:
            p.kill()
            p.wait()
    samples.sort()
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 2),
        "p90_ms": round(samples[int(0.9 * (len(samples) - 1))], 2),
        "min_ms": round(samples[0], 2),
    }


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["requests_per_s"] = float(m.group(1)) if m else None
    # wrk prints "50%", wrk2 "50.000%".
    for q, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"(?m)^\s*" + q + r"(?:\.0+)?%\s+([\d.]+)(us|ms|s)\b", text)
        if m:
            v = float(m.group(1))
            out[key] = round(v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v, 3)
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    return out


def warm(bin_path, path, env, seconds, connections, headers, method="GET", body=None):
    port = free_port()
    p = spawn(bin_path, port, env)
    try:
        for _ in range(2000):
            try:
                if get(port, path, headers) == 200:
                    break
            except OSError:
                time.sleep(0.005)
        idle = rss_kb(p.pid)
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}: {v}"]
        if method != "GET":
            lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), f".wrk-{os.getpid()}.lua")
            with open(lua, "w") as f:
                f.write(f"wrk.method = {json.dumps(method)}\nwrk.body = {json.dumps(body or '')}\n")
                f.write('wrk.headers["Content-Type"] = "application/json"\n')
            cmd += ["-s", lua]
        cmd.append(f"http://127.0.0.1:{port}{path}")
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
        stats = parse_wrk(res.stdout)
        stats["idle_rss_kb"] = idle
        stats["peak_rss_kb"] = rss_kb(p.pid)
        return stats
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--functions", required=True, help="comma list of bin names")
    ap.add_argument("--env", default="{}", help="JSON object of env vars for the functions")
    ap.add_argument("--warm", default="[]", help='JSON list of {"name","bin","path","headers"}')
    ap.add_argument("--cold-runs", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    env = json.loads(a.env)
    result = {"binaries": {}, "cold_start": {}, "warm": {}}
    for name in a.functions.split(","):
        path = os.path.join(a.bin_dir, name)
        port = free_port()
        p = spawn(path, port, env)
        time.sleep(0.3)
        result["binaries"][name] = {"size_bytes": os.path.getsize(path), "idle_rss_kb": rss_kb(p.pid)}
        p.kill()
        p.wait()
    result["cold_start"]["health"] = cold_start(os.path.join(a.bin_dir, "health"), "/health", env, a.cold_runs)
    for w in json.loads(a.warm):
        result["warm"][w["name"]] = warm(os.path.join(a.bin_dir, w["bin"]), w["path"], env, a.seconds, a.connections,
                                         w.get("headers"), w.get("method", "GET"), w.get("body"))
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    for f in os.listdir(os.path.dirname(os.path.abspath(__file__))):
        if f.startswith(".wrk-"):
            os.remove(os.path.join(os.path.dirname(os.path.abspath(__file__)), f))


if __name__ == "__main__":
    sys.exit(main())
