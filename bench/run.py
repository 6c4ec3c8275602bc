#!/usr/bin/env python3
"""Runs the Weft benchmarks side by side with the peer runtimes and prints a markdown report.

Usage:  bench/run.sh [RUNS=n] [workload ...]      (default: every workload, see below)

Environment (each may also be given as NAME=value on the command line):
  RUNS      rounds per workload (default 5)
  WEFT      the weft binary (default: target/release/weft of this repository, built with
            `cargo build --release` when it is missing; an existing binary is not rebuilt)
  PEERS     the peer programs (default: ../shared/bench/peers beside this repository)
  RUNTIMES  comma-separated peers to run, e.g. RUNTIMES=lua5.4,python3 (default: every peer
            installed; Weft always runs)
  TIMEOUT   seconds allowed per run (default 300)
  HTTP_QUIET_WAIT  seconds an `http` run waits at most for the machine to be idle (default 60;
            0: do not wait)
  HTTP_SOAK seconds of the `http` memory soak of the Weft server after its rounds (default 0:
            none; 15 is about 1M requests here)

A workload is `bench/<name>.weft` with a folder `<name>/` in PEERS holding the same program for
the other runtimes (its <name>.lua, .py, .js, ...). Adding a .weft file there is all it takes.
`http` is a server instead (bench/http.weft and PEERS/http/), measured with wrk (see http_bench).

The peers are invoked exactly as PEERS/run.sh does it (same commands, same flags), so the
figures can be set beside PEERS/RESULTS.md. Progress goes to stderr, the report to stdout.
"""

import http.client
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

LOAD_AT_START = os.getloadavg()[0]
BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)

# Workload order of PEERS/run.sh, so reports read alike.
ORDER = ["startup", "fib", "loop", "strings", "map", "sort", "calls", "binary_trees",
         "spawn_join", "ring", "sleep_many", "fairness", "channel", "http"]

# Workloads run with arguments, one report row per variant (as in PEERS/run.sh).
VARIANTS = {
    "spawn_join": [("N=100k", ["100000"]), ("N=1M", ["1000000"])],
    "sleep_many": [("N=100k", ["100000"])],
    "fairness": [("2 spinners", ["2"]), ("control: 0 spinners", ["0"])],
}

# The checksums every runtime must print (copied from PEERS/report.py). A workload missing here
# is checked against what most peers printed.
EXPECTED = {
    "startup": "0",
    "fib": "2178309",
    "loop": "30993",
    "strings": "6888889 600000",
    "map": "1000000 499999500000",
    "sort": "5274 1073224966 2147479758",
    "calls": "49999995000000",
    "binary_trees": "14985902",
    ("spawn_join", "N=100k"): "46150000",
    ("spawn_join", "N=1M"): "461500000",
    "ring": "0",
    "sleep_many": "100000",
    "fairness": "ticks=100",
    "channel": "499999500000",
}

# What a program reports about itself: `time_ms=` for the workload alone, except fairness, whose
# figure is the ticker's worst lateness. Lower is better for both.
METRIC = {"fairness": "max_late_ms"}


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def have(cmd):
    return shutil.which(cmd) is not None


# ------------------------------------------------------------------------------ settings ----

def settings(argv):
    """Splits argv into NAME=value settings (they override the environment) and workload names."""
    env = dict(os.environ)
    names = []
    for arg in argv:
        m = re.fullmatch(r"([A-Z_]+)=(.*)", arg)
        if m:
            env[m.group(1)] = m.group(2)
        elif arg in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        else:
            names.append(arg)
    return env, names


def weft_binary(env):
    """The weft to measure. Built only when it is missing, so a fresh clone works; an explicit
    $WEFT is never built, since it may belong to another checkout."""
    if env.get("WEFT"):
        path = os.path.abspath(env["WEFT"])
        if not os.access(path, os.X_OK):
            sys.exit(f"WEFT={path} is not an executable")
        return path
    path = os.path.join(REPO, "target", "release", "weft")
    if not os.access(path, os.X_OK):
        log(f"== {path} is missing: cargo build --release")
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    return path


# ------------------------------------------------------------------------------ runtimes ----

class Runtime:
    """A way to run a workload's program: `prefix + [program] + args`."""

    def __init__(self, name, ext, prefix, folder=None):
        self.name, self.ext, self.prefix, self.folder = name, ext, prefix, folder

    def program(self, workload):
        path = os.path.join(self.folder, workload, f"{workload}.{self.ext}")
        return path if os.path.isfile(path) else None

    def command(self, workload, args):
        prog = self.program(workload)
        return None if prog is None else self.prefix + [prog] + args


class Weft(Runtime):
    def __init__(self, binary):
        super().__init__("weft", "weft", [binary, "run"])

    def program(self, workload):
        path = os.path.join(BENCH, f"{workload}.weft")
        return path if os.path.isfile(path) else None


class WeftMailboxes(Runtime):
    """Weft again, running `bench/<workload>_mailbox.weft` where one exists: the same workload
    written with mailboxes and `receive` (Erlang's model) instead of channels, so it is measured
    in the same run as Erlang (issue 7). It shows as its own column."""

    def __init__(self, binary):
        super().__init__("weft mailboxes", "weft", [binary, "run"])

    def program(self, workload):
        path = os.path.join(BENCH, f"{workload}_mailbox.weft")
        return path if os.path.isfile(path) else None


class Go(Runtime):
    """Go programs are built once, into bench/.build/, and the binary is what runs."""

    def __init__(self, folder, build):
        super().__init__("go", "go", [], folder)
        self.build, self.built = build, {}

    def program(self, workload):
        if workload not in self.built:
            src = os.path.join(self.folder, workload, f"{workload}.go")
            out = os.path.join(self.build, f"{workload}-go")
            ok = os.path.isfile(src) and subprocess.run(["go", "build", "-o", out, src]).returncode == 0
            self.built[workload] = out if ok else None
        return self.built[workload]


def peer_runtimes(peers, env):
    """The peers installed here, with the commands of PEERS/run.sh (see its comments: python3 runs
    as its real executable with -S and node without NODE_EXTRA_CA_CERTS, to leave out start-up
    costs of the sandbox the baselines were measured in)."""
    out = []
    if have("lua5.4"):
        out.append(Runtime("lua5.4", "lua", ["lua5.4"], peers))
    if have("luajit"):
        out.append(Runtime("luajit", "lua", ["luajit"], peers))
    if have("python3"):
        exe = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"],
                             capture_output=True, text=True).stdout.strip()
        if exe:
            out.append(Runtime("python3", "py", [exe, "-S"], peers))
    if have("node"):
        node = ["env", "-u", "NODE_EXTRA_CA_CERTS", "node"]
        out.append(Runtime("node", "js", node, peers))
        out.append(Runtime("node --jitless", "js", node + ["--jitless"], peers))
    if have("escript"):
        out.append(Runtime("erlang", "escript", ["escript"], peers))
    if have("go"):
        out.append(Go(peers, os.path.join(BENCH, ".build")))
    # Rhai and Rune run in PEERS' Rust harness. It takes minutes to build, so it is used only
    # when already built (cd PEERS/rust-harness && cargo build --release).
    harness = os.path.join(peers, "rust-harness", "target", "release", "peer-harness")
    if os.access(harness, os.X_OK):
        out.append(Runtime("rhai", "rhai", [harness, "rhai"], peers))
        out.append(Runtime("rune", "rn", [harness, "rune"], peers))
    if env.get("RUNTIMES"):
        wanted = [w.strip() for w in env["RUNTIMES"].split(",") if w.strip()]
        unknown = [w for w in wanted if w not in [rt.name for rt in out] + ["weft"]]
        if unknown:
            log(f"not installed or unknown, skipped: {', '.join(unknown)}")
        out = [rt for rt in out if rt.name in wanted]
    return out


# ----------------------------------------------------------------------------- workloads ----

def workloads(names, peers):
    """Every bench/<name>.weft that has a peers folder, in ORDER; or the names asked for."""
    if names:
        for name in names:
            if not os.path.isfile(os.path.join(BENCH, f"{name}.weft")):
                sys.exit(f"no bench/{name}.weft")
        return names
    found = [f[:-5] for f in os.listdir(BENCH) if f.endswith(".weft") and "_mailbox" not in f]
    found = [w for w in found if os.path.isdir(os.path.join(peers, w))]
    return sorted(found, key=lambda w: (ORDER.index(w) if w in ORDER else len(ORDER), w))


# --------------------------------------------------------------------------- measurement ----

def parse_output(text):
    """Splits a program's stdout into its checksum (the plain words) and its metrics (the
    `name=number` words), as PEERS/report.py does; `ticks=100` is part of fairness's checksum."""
    metrics, plain = {}, []
    for word in text.split():
        m = re.fullmatch(r"([a-z_]+)=(-?[0-9.]+)", word)
        if m and m.group(1) != "ticks":
            metrics[m.group(1)] = float(m.group(2))
        else:
            plain.append(word)
    return " ".join(plain), metrics


def measure(cmd, timeout, tmp):
    """One run. The peers' baselines were taken with `/usr/bin/time -f %M ... timeout T cmd`; the
    same wrappers are used here so that every runtime pays the same few milliseconds for them.
    Wall time is taken around the whole, and %M is the peak RSS of the program in KB."""
    rss_file = os.path.join(tmp, "rss")
    full = ["/usr/bin/time", "-f", "%M", "-o", rss_file, "timeout", str(timeout)] + cmd
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, errors="replace")
    wall_ms = (time.perf_counter() - t0) * 1000
    try:
        with open(rss_file) as f:
            rss_kb = int(f.read().split()[-1])  # after "Command exited with non-zero status N"
    except (OSError, ValueError, IndexError):
        rss_kb = None
    checksum, metrics = parse_output(proc.stdout)
    return dict(rc=proc.returncode, wall_ms=wall_ms, rss_kb=rss_kb, checksum=checksum,
                metrics=metrics, stderr=proc.stderr.strip())


def bench(workload, variant, args, runtimes, runs, timeout, tmp):
    """RUNS rounds; each round runs every runtime once, so that machine noise (another process,
    CPU frequency) spreads over all of them instead of landing on one."""
    results = {rt.name: [] for rt in runtimes}
    for rnd in range(1, runs + 1):
        for rt in runtimes:
            cmd = rt.command(workload, args)
            if cmd is None:
                continue
            log(f"   [{workload}{'' if variant == '-' else ' ' + variant}] round {rnd}: {rt.name}")
            r = measure(cmd, timeout, tmp)
            if r["rc"] != 0:
                log(f"   {rt.name}: exit {r['rc']}: {r['stderr'][:300]}")
            results[rt.name].append(r)
    return {name: rs for name, rs in results.items() if rs}


def hyperfine_startup(runtimes, tmp):
    """Start-up takes a few ms, the same order as the time/timeout wrappers and Python's process
    spawning, so like PEERS/run.sh it is timed again with hyperfine (no shell, 20 runs)."""
    if not have("hyperfine"):
        return {}
    cmds = []
    for rt in runtimes:
        cmd = rt.command("startup", [])
        if cmd is not None:
            cmds += ["-n", rt.name, shlex.join(cmd)]
    out = os.path.join(tmp, "hyperfine.json")
    proc = subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", "20",
                           "--export-json", out] + cmds, capture_output=True, text=True)
    if proc.returncode != 0:
        log(f"hyperfine failed: {proc.stderr[:300]}")
        return {}
    with open(out) as f:
        return {r["command"]: r["median"] * 1000 for r in json.load(f)["results"]}


# ---------------------------------------------------------------------------------- http ----
# A hello-world HTTP/1.1 server per runtime, loaded with wrk exactly as PEERS/run.sh does it
# (`http_bench` there): per round and server, start it, wait until it listens, 1 s wrk warm-up,
# `wrk -t1 -c50 -d5s --latency`, read its peak RSS (VmHWM), stop it. Everything listens on
# 127.0.0.1 and every wait is bounded; a server is always stopped, also on an error or Ctrl-C.

WRK_ARGS = ["-t1", "-c50"]
WRK_WARMUP_S = 1
WRK_SECONDS = 5
HTTP_BODY = "Hello, World!"
LISTEN_WAIT_S = 20      # a server that does not listen by then is given up
STOP_WAIT_S = 5         # SIGTERM, then SIGKILL after this


class HttpServer:
    """How to start one runtime's server: `command + [port]`, with extra environment."""

    def __init__(self, name, command, env=None):
        self.name, self.command, self.env = name, command, env or {}


def http_servers(runtimes, peers, tmp):
    """Weft's server and the peers' (PEERS/http/), for the runtimes installed and asked for, with
    the commands of PEERS/run.sh. Go is built once into `tmp`."""
    folder = os.path.join(peers, "http")
    out = []
    for rt in runtimes:
        if isinstance(rt, WeftMailboxes):
            continue
        if isinstance(rt, Weft):
            prog = rt.program("http")
            if prog:
                out.append(HttpServer("weft", [rt.prefix[0], "run", "--allow-net=127.0.0.1", prog]))
        elif isinstance(rt, Go):
            src = os.path.join(folder, "http.go")
            binary = os.path.join(tmp, "http-go")
            if os.path.isfile(src):
                if subprocess.run(["go", "build", "-o", binary, src]).returncode == 0:
                    out.append(HttpServer("go", [binary]))
                    out.append(HttpServer("go GOMAXPROCS=1", [binary], {"GOMAXPROCS": "1"}))
                else:
                    log("   go build of http.go failed: go skipped")
        elif rt.ext in ("js", "py", "escript"):
            prog = os.path.join(folder, f"http.{rt.ext}")
            if os.path.isfile(prog):
                out.append(HttpServer(rt.name, rt.prefix + [prog]))
    # The order of PEERS/RESULTS.md's HTTP table.
    order = ["weft", "node", "node --jitless", "python3", "erlang", "go", "go GOMAXPROCS=1"]
    return sorted(out, key=lambda s: order.index(s.name) if s.name in order else len(order))


def free_port():
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def listener_pid(port, fallback):
    """The process that holds the listening socket (escript's wrapper starts beam.smp), as
    PEERS/run.sh finds it; the started process when `ss` cannot tell."""
    if have("ss"):
        try:
            out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True,
                                 text=True, timeout=10).stdout
            m = re.search(r"pid=(\d+)", out)
            if m:
                return int(m.group(1))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return fallback


def proc_kb(pid, field):
    """VmHWM (peak RSS) or VmRSS of a process, in KB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class Running:
    """A started server, in its own process group so that it and anything it started can be
    stopped together. Use as a context manager: leaving it always stops the server."""

    live = set()

    def __init__(self, server, port, tmp):
        self.port = port
        self.log_path = os.path.join(tmp, "server.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ, **server.env)
        self.proc = subprocess.Popen(server.command + [str(port)], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        Running.live.add(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def wait_listening(self):
        deadline = time.monotonic() + LISTEN_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if listening(self.port):
                return True
            time.sleep(0.05)
        return False

    def output(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-500:].strip()
        except OSError:
            return ""

    def stop(self):
        if self in Running.live:
            Running.live.discard(self)
            for sig, wait in ((signal.SIGTERM, STOP_WAIT_S), (signal.SIGKILL, STOP_WAIT_S)):
                try:
                    os.killpg(self.proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            try:
                # Whatever else is left in its group (a child it started).
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.log.close()


def stop_all_servers(*_):
    for server in list(Running.live):
        server.stop()


def check_answer(port):
    """One GET: the body must be the peers' "Hello, World!" with status 200 and a text/plain
    content type. Returns what is wrong, or None."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        res = conn.getresponse()
        body = res.read().decode(errors="replace")
        ctype = res.getheader("content-type", "")
        conn.close()
    except (OSError, http.client.HTTPException) as e:
        return f"GET / failed: {e}"
    if res.status != 200 or body != HTTP_BODY or not ctype.startswith("text/plain"):
        return f"GET / answered {res.status}, {ctype!r}, {body[:60]!r}"
    return None


def wrk_latency_ms(value):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", value)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def parse_wrk(text):
    """requests/s, p50, p99, requests, socket errors and non-2xx of wrk's report (as
    PEERS/report.py reads it)."""
    out = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        # At the start of a line: "Req/Sec ... 72.50%" also has a "50%" after a word boundary.
        m = re.search(rf"^\s*{pct}%\s+(\S+)", text, re.M)
        if m:
            out[key] = wrk_latency_ms(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: ([^\n]*)", text)
    if m:
        out["errors"] = m.group(1).strip()
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    return out


def wrk(port, seconds, latency=False):
    cmd = ["wrk"] + WRK_ARGS + [f"-d{seconds}s"] + (["--latency"] if latency else []) + \
        [f"http://127.0.0.1:{port}/"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "wrk did not finish"
    if proc.returncode != 0:
        return None, f"wrk exit {proc.returncode}: {proc.stderr[:300]}"
    return proc.stdout, None


def cpu_busy_s():
    """Busy CPU seconds of the whole machine so far (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def other_load(before, after, seconds):
    """CPU the rest of the machine used during a wrk run, in cores: the machine's busy time less
    the server's and wrk's. Another build on these 2 cores shows here, and in the tail."""
    parts = [before.get(k) for k in ("busy", "server", "wrk")] + \
        [after.get(k) for k in ("busy", "server", "wrk")]
    if any(v is None for v in parts):
        return None
    b0, s0, w0, b1, s1, w1 = parts
    return max(0.0, ((b1 - b0) - (s1 - s0) - (w1 - w0)) / seconds)


def cpu_sample(pid):
    return dict(busy=cpu_busy_s(), server=proc_cpu_s(pid), wrk=children_cpu_s())


def wait_quiet(max_wait):
    """Waits (at most `max_wait` seconds) until the machine is nearly idle: less than 0.15 of a
    core busy over half a second. Other work on these 2 cores (a build) preempts the server or
    wrk for a few ms at a time, which shows as the p99 of every runtime. Returns the seconds
    waited, or None when it never got quiet (the run goes ahead; the report shows the load)."""
    start = time.monotonic()
    while True:
        b0 = cpu_busy_s()
        time.sleep(0.5)
        b1 = cpu_busy_s()
        if b0 is None or b1 is None or (b1 - b0) / 0.5 < 0.15:
            return time.monotonic() - start
        if time.monotonic() - start >= max_wait:
            return None


def settle(quiet_wait):
    """Waits (at most `quiet_wait` s) for the rest of the machine to go quiet before a run."""
    if quiet_wait > 0 and wait_quiet(quiet_wait) is None:
        log(f"   the machine did not get quiet within {quiet_wait} s: measuring anyway")


def http_round(server, tmp, quiet_wait=0):
    """One measured run of one server: a dict with wrk's figures and the peak RSS, or with
    `error`."""
    settle(quiet_wait)
    port = free_port()
    with Running(server, port, tmp) as running:
        if not running.wait_listening():
            return dict(error=f"did not listen on {port}: {running.output()}")
        wrong = check_answer(port)
        if wrong:
            return dict(error=wrong)
        pid = listener_pid(port, running.proc.pid)
        _, err = wrk(port, WRK_WARMUP_S)
        if err:
            return dict(error=err)
        before = cpu_sample(pid)
        text, err = wrk(port, WRK_SECONDS, latency=True)
        if err:
            return dict(error=err)
        r = parse_wrk(text)
        r["rss_kb"] = proc_kb(pid, "VmHWM")
        after = cpu_sample(pid)
        r["other_load"] = other_load(before, after, WRK_SECONDS)
        if before["server"] is not None and after["server"] is not None:
            r["server_cores"] = (after["server"] - before["server"]) / WRK_SECONDS
        if "rps" not in r or "p99_ms" not in r:
            r["error"] = f"could not read wrk's report: {text[:300]}"
        return r


def http_bench(servers, runs, tmp, quiet_wait):
    results = {s.name: [] for s in servers}
    for rnd in range(1, runs + 1):
        for server in servers:
            log(f"   [http] round {rnd}: {server.name}")
            r = http_round(server, tmp, quiet_wait)
            if "error" in r:
                log(f"   {server.name}: {r['error']}")
            else:
                log(f"   {server.name}: {r['rps']:,.0f} req/s, p50 {fmt_ms(r.get('p50_ms'))} ms, "
                    f"p99 {fmt_ms(r['p99_ms'])} ms")
            results[server.name].append(r)
    return results


def http_soak(server, seconds, tmp, quiet_wait=0):
    """Memory over about a million requests: after a 3 s warm-up, the server's RSS before and
    after a long wrk run."""
    log(f"   [http] soak: {server.name}, {seconds} s")
    settle(quiet_wait)
    port = free_port()
    with Running(server, port, tmp) as running:
        if not running.wait_listening():
            return dict(error=f"did not listen on {port}: {running.output()}")
        pid = listener_pid(port, running.proc.pid)
        warm, err = wrk(port, 3)
        if err:
            return dict(error=err)
        before = proc_kb(pid, "VmRSS")
        cpu_before = cpu_sample(pid)
        text, err = wrk(port, seconds, latency=True)
        if err:
            return dict(error=err)
        r = parse_wrk(text)
        r["other_load"] = other_load(cpu_before, cpu_sample(pid), seconds)
        r.update(seconds=seconds, warmup_requests=parse_wrk(warm).get("requests"),
                 rss_before_kb=before, rss_after_kb=proc_kb(pid, "VmRSS"),
                 hwm_kb=proc_kb(pid, "VmHWM"))
        return r


def http_report(results, soak, names):
    """The peers' RESULTS.md HTTP table for this run, every run's figures, Weft/peer ratios."""
    print(f"## HTTP (`wrk {' '.join(WRK_ARGS)} -d{WRK_SECONDS}s --latency` after a "
          f"{WRK_WARMUP_S} s warm-up; medians of runs)")
    print()
    row(["server", "req/s", "p50 ms", "p99 ms", "peak RSS MB", "runs", "socket errors / non-2xx"],
        header=True)
    stats = {}
    for name, rs in results.items():
        ok = [r for r in rs if "error" not in r]
        s = dict(ok=ok, runs=len(rs), rps=median([r["rps"] for r in ok]),
                 p50=median([r.get("p50_ms") for r in ok]), p99=median([r["p99_ms"] for r in ok]),
                 rss=median([r.get("rss_kb") for r in ok]))
        stats[name] = s
        errors = sorted({r["errors"] for r in ok if "errors" in r})
        non2xx = sum(r.get("non2xx", 0) for r in ok)
        errs = "; ".join(errors) or "none"
        if non2xx:
            errs += f"; non-2xx {non2xx}"
        failed = len(rs) - len(ok)
        if failed:
            errs += f"; **{failed} failed**"
        rps = "-" if s["rps"] is None else f"{s['rps']:,.0f}"
        row([name, rps, fmt_ms(s["p50"]), fmt_ms(s["p99"]), fmt_mb(s["rss"]),
             f"{len(ok)}/{len(rs)}", errs])
    print()
    print("Every run: req/s, p50 / p99 ms, and the CPU the server used and the rest of the machine "
          "(neither the server nor wrk) used during the run, in cores:")
    print()
    row(["server"] + [f"run {i + 1}" for i in range(max(len(rs) for rs in results.values()))],
        header=True)

    def run_cell(r):
        if "error" in r:
            return "failed"
        cores = lambda v: "?" if v is None else f"{v:.2f}"  # noqa: E731
        return (f"{r['rps']:,.0f}, {fmt_ms(r.get('p50_ms'))} / {fmt_ms(r['p99_ms'])} "
                f"(server {cores(r.get('server_cores'))}, other {cores(r.get('other_load'))})")

    for name, rs in results.items():
        row([name] + [run_cell(r) for r in rs])
    print()
    w = stats.get("weft")
    peers = [n for n in results if n != "weft"]
    if w and w["ok"] and peers:
        print("Weft / peer (req/s ratio: above 1 means Weft serves more; p99 ratio: below 1 "
              "means Weft's tail is shorter):")
        print()
        row(["ratio"] + peers, header=True)
        row(["req/s"] + [fmt_ratio(w["rps"], stats[n]["rps"]) for n in peers])
        row(["p99"] + [fmt_ratio(w["p99"], stats[n]["p99"]) for n in peers])
        print()
    if soak:
        if "error" in soak:
            print(f"Soak: **failed**: {soak['error']}")
        else:
            before, after = soak["rss_before_kb"], soak["rss_after_kb"]
            growth = "-" if not before or not after else f"{(after / before - 1) * 100:+.1f}%"
            print(f"Soak (weft, `wrk {' '.join(WRK_ARGS)} -d{soak['seconds']}s` after a 3 s "
                  f"warm-up of {soak.get('warmup_requests') or 0:,} requests): "
                  f"{soak.get('requests') or 0:,} requests, {soak['rps']:,.0f} req/s, "
                  f"p50 {fmt_ms(soak.get('p50_ms'))} ms, p99 {fmt_ms(soak.get('p99_ms'))} ms, "
                  f"socket errors: {soak.get('errors', 'none')}, "
                  f"RSS {fmt_kb_mb(before)} MB before, {fmt_kb_mb(after)} MB after ({growth}), "
                  f"peak {fmt_kb_mb(soak['hwm_kb'])} MB; the rest of the machine used "
                  f"{'?' if soak.get('other_load') is None else format(soak['other_load'], '.2f')}"
                  " cores meanwhile")
        print()


def fmt_kb_mb(kb):
    return "-" if kb is None else f"{kb / 1024:.1f}"


# ------------------------------------------------------------------------------- summary ----

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(workload, variant, results, startup_hf):
    """Per runtime: medians, checksum and whether it is right. Also the basis of comparison:
    the programs' own time when Weft reports one, else whole-process wall time for everyone
    (comparing Weft's process time with the peers' in-program time would charge Weft alone for
    start-up and compilation)."""
    metric = METRIC.get(workload, "time_ms")
    weft_ok = [r for r in results.get("weft", []) if r["rc"] == 0]
    if workload == "startup":
        basis = "hyperfine" if startup_hf else "wall"
    elif weft_ok and all(metric in r["metrics"] for r in weft_ok):
        basis = "program"
    else:
        basis = "wall"

    peer_sums = [r["checksum"] for name, rs in results.items() if name != "weft"
                 for r in rs if r["rc"] == 0]
    expected = EXPECTED.get((workload, variant), EXPECTED.get(workload))
    if expected is None and peer_sums:
        expected = statistics.mode(peer_sums)

    stats = {}
    for name, rs in results.items():
        ok = [r for r in rs if r["rc"] == 0]
        s = dict(runs=len(rs), ok=len(ok), errors=[r for r in rs if r["rc"] != 0])
        s["wall_ms"] = median([r["wall_ms"] for r in ok])
        s["rss_kb"] = median([r["rss_kb"] for r in ok])
        own = [r["metrics"].get(metric) for r in ok]
        s["own_ms"] = median(own)
        s["own_min"] = min([v for v in own if v is not None], default=None)
        s["own_max"] = max([v for v in own if v is not None], default=None)
        if basis == "program":
            s["figure"] = s["own_ms"]
        elif basis == "hyperfine":
            s["figure"] = startup_hf.get(name, s["wall_ms"])
        else:
            s["figure"] = s["wall_ms"]
        sums = sorted({r["checksum"] for r in ok})
        s["checksum"] = " / ".join(sums)
        # startup.weft is an empty program (the start-up target), so it prints nothing;
        # the peers print "0".
        want = "" if (name == "weft" and workload == "startup") else expected
        s["correct"] = bool(ok) and (want is None or sums == [want])
        stats[name] = s
    return basis, stats


def fmt_ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_mb(kb):
    return "-" if kb is None else f"{kb / 1024:.0f}"


def fmt_ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}"


def cell(s):
    if s is None:
        return "-"
    if s["ok"] == 0:
        return f"**failed** (exit {s['errors'][0]['rc']})"
    bad = "" if s["correct"] else " **wrong checksum**"
    return f"{fmt_ms(s['figure'])} ms, {fmt_mb(s['rss_kb'])} MB{bad}"


def environment(weft, runtimes, runs):
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # The commit says which source was measured only for the default binary; a $WEFT may have
    # been built from any checkout.
    source = ""
    if weft == os.path.join(REPO, "target", "release", "weft"):
        source = f", built from {first_line(['git', '-C', REPO, 'describe', '--always', '--dirty'])}"
    lines = [
        f"machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.machine()}",
        f"weft: {first_line([weft, '--version'])} ({weft}{source})",
    ]
    versions = {"lua5.4": ["lua5.4", "-v"], "luajit": ["luajit", "-v"], "node": ["node", "--version"],
                "go": ["go", "version"]}
    for rt in runtimes:
        if rt.name in versions:
            lines.append(f"{rt.name}: {first_line(versions[rt.name])}")
        elif rt.name == "python3":
            lines.append(f"python3: {first_line(rt.prefix[:1] + ['--version'])} (run as `python3 -S`)")
    lines.append(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, RUNS={runs}")
    # Other work on the machine shows in the figures (on 2 cores, one busy core slows the
    # other's memory-heavy workloads too), so the report says how busy it was.
    lines.append(f"1-minute load average: {LOAD_AT_START:.2f} at the start, "
                 f"{os.getloadavg()[0]:.2f} at the end")
    return lines


def row(cells, header=False):
    print("| " + " | ".join(cells) + " |")
    if header:
        print("|---" * len(cells) + "|")


def ratios(rows, names):
    """Weft's figure and RSS over each peer's, and the geometric mean of the time ratios."""
    print("## Weft / peer (time ratio, RSS ratio; below 1 means Weft is faster / smaller)")
    print()
    row(["workload"] + names, header=True)
    logs = {n: [] for n in names}
    for label, _basis, stats in rows:
        w = stats.get("weft")
        cells = []
        for n in names:
            s = stats.get(n)
            # A time is worth comparing only for a run that got the right answer.
            if not w or not s or not w["correct"] or not s["correct"]:
                cells.append("-")
                continue
            cells.append(f"{fmt_ratio(w['figure'], s['figure'])} "
                         f"(RSS {fmt_ratio(w['rss_kb'], s['rss_kb'])})")
            # The geometric mean is over the workloads proper: start-up has its own target.
            if not label.startswith("startup") and w["figure"] and s["figure"]:
                logs[n].append(math.log(w["figure"] / s["figure"]))
        row([label] + cells)
    geo = {n: math.exp(sum(v) / len(v)) if v else None for n, v in logs.items()}
    row(["**geometric mean** (time, without startup)"]
        + ["-" if geo[n] is None else f"**{geo[n]:.2f}** (of {len(logs[n])})" for n in names])
    print()
    if geo.get("lua5.4") is not None:
        print(f"Geometric mean of Weft/lua5.4 time over {len(logs['lua5.4'])} workloads: "
              f"**{geo['lua5.4']:.2f}**")
        print()


def details(rows, names):
    """Every runtime's figures, checksums, and then every failure with its error."""
    print("## Detail")
    print()
    row(["workload", "runtime", "ok runs", "own time ms (median, min-max)", "process wall ms",
         "peak RSS MB", "checksum", "right"], header=True)
    problems = []
    for label, _basis, stats in rows:
        for n in ["weft"] + names:
            s = stats.get(n)
            if s is None:
                continue
            own = "-" if s["own_ms"] is None else \
                f"{fmt_ms(s['own_ms'])} ({fmt_ms(s['own_min'])}-{fmt_ms(s['own_max'])})"
            row([label, n, f"{s['ok']}/{s['runs']}", own, fmt_ms(s["wall_ms"]),
                 fmt_mb(s["rss_kb"]), f"`{s['checksum']}`", "yes" if s["correct"] else "**NO**"])
            for e in s["errors"][:1]:
                problems.append(f"{label}, {n}: exit {e['rc']}: {e['stderr'][:500]}")
            if s["ok"] and not s["correct"]:
                problems.append(f"{label}, {n}: checksum `{s['checksum']}` is not the expected one")
    print()
    if problems:
        print("## Failures")
        print()
        for line in problems:
            print(f"- {line}")
        print()


def report(rows, weft, runtimes, runs, http_results=None, soak=None):
    names = [rt.name for rt in runtimes if rt.name != "weft"]
    print("# Weft against its peers")
    print()
    for line in environment(weft, runtimes, runs):
        print(f"- {line}")
    if http_results:
        print(f"- wrk: {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.strip().splitlines()[0]}"
              ", on the same machine as the servers")
    print()
    if rows:
        cpu_report(rows, names, runs)
    if http_results:
        http_report(http_results, soak, names)


def cpu_report(rows, names, runs):
    print(f"""Median of {runs} interleaved runs. Time basis per row: **program** = the workload's own
time, printed by each program (`time_ms=`; Lua's is `os.clock()` CPU time); **wall** =
whole-process wall time for every runtime (used when the weft binary has no `now()`, so it
includes start-up and compilation for all); **hyperfine** = hyperfine's median process time.
RSS is the median peak resident set of the whole process.

## Time and peak RSS
""")
    row(["workload", "basis", "weft"] + names, header=True)
    for label, basis, stats in rows:
        row([label, basis] + [cell(stats.get(n)) for n in ["weft"] + names])
    print()
    if names:
        ratios(rows, names)
    details(rows, names)


# ---------------------------------------------------------------------------------- main ----

def main():
    env, names = settings(sys.argv[1:])
    runs = int(env.get("RUNS", "5"))
    timeout = int(env.get("TIMEOUT", "300"))
    peers = os.path.abspath(env.get("PEERS") or os.path.join(REPO, "..", "shared", "bench", "peers"))
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("/usr/bin/time is needed for peak RSS (Debian: apt-get install time)")
    if not os.path.isdir(peers):
        log(f"no peer programs at {peers} (set PEERS): Weft runs alone")
    todo = workloads(names, peers)
    if "http" in todo and not have("wrk"):
        log("== http skipped: it needs wrk (Debian: apt-get install wrk)")
        todo = [w for w in todo if w != "http"]
    if not todo:
        sys.exit("nothing to run")
    weft = weft_binary(env)
    os.makedirs(os.path.join(BENCH, ".build"), exist_ok=True)
    runtimes = [Weft(weft)] + peer_runtimes(peers, env) + [WeftMailboxes(weft)]
    log(f"== runtimes: {', '.join(rt.name for rt in runtimes)}")
    if not have("lua5.4"):
        log("lua5.4, the reference peer, is not installed (Debian: apt-get install lua5.4)")

    rows, http_results, soak = [], None, None
    soak_seconds = int(env.get("HTTP_SOAK", "0"))
    # A server is stopped on every way out: an error, Ctrl-C (KeyboardInterrupt) or SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for w in todo:
                log(f"== {w}")
                if w == "http":
                    servers = http_servers(runtimes, peers, tmp)
                    log(f"   servers: {', '.join(s.name for s in servers)}")
                    http_results = http_bench(servers, runs, tmp,
                                              int(env.get("HTTP_QUIET_WAIT", "60")))
                    if soak_seconds > 0 and servers and servers[0].name == "weft":
                        soak = http_soak(servers[0], soak_seconds, tmp,
                                         int(env.get("HTTP_QUIET_WAIT", "60")))
                    continue
                for variant, args in VARIANTS.get(w, [("-", [])]):
                    results = bench(w, variant, args, runtimes, runs, timeout, tmp)
                    hf = hyperfine_startup(runtimes, tmp) if w == "startup" else {}
                    basis, stats = summarize(w, variant, results, hf)
                    rows.append((w if variant == "-" else f"{w} ({variant})", basis, stats))
        finally:
            stop_all_servers()
    report(rows, weft, runtimes, runs, http_results, soak)


if __name__ == "__main__":
    main()
