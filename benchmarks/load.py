"""A bounded load test on loopback: N gradio_client clients for a fixed time.

    python benchmarks/load.py                          # starts the app itself, 8 clients, 60 s
    python benchmarks/load.py --clients 16 --duration 120
    python benchmarks/load.py --url http://127.0.0.1:7860/ --pid 1234   # an app already running

Each client loops until the time is up, calling /forward (a random t) or /reverse (a short
run: --steps, --samples) at random, --reverse-share of the time. Prints completed / busy
("Queue is full") / errors, p50/p95 latency per endpoint and the app's RSS at start and end
(psutil when installed, else /proc/<pid>/status), then one JSON line.

Bounded: at most 16 clients and 600 s; calls still running at the end are cancelled; a
self-started app is stopped. Only 127.0.0.1 / localhost is accepted as a target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 16
MAX_DURATION = 600.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def children(pid: int) -> list[int]:
    """The process's children and theirs (the app's UNet worker), from /proc."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *children(int(child))]
    except OSError:
        pass
    return found


def rss_mb(pid: int | None) -> float | None:
    """The app's resident memory, its child processes (the UNet worker) included."""
    if pid is None:
        return None
    own = _rss_mb(pid)
    return None if own is None else own + sum(_rss_mb(c) or 0.0 for c in children(pid))


def _rss_mb(pid: int) -> float | None:
    try:
        import psutil  # type: ignore[import-not-found]

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 (process gone)
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by one process (0 if gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> dict[str, float]:
    """CPU seconds so far: the app's process, its children (the UNet worker), this process (the clients)."""
    return {
        "app": cpu_s(pid),
        "worker": sum(cpu_s(c) for c in children(pid)),
        "clients": time.process_time(),
    }


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds between two cpu_split readings, per process."""
    return {k: round(after[k] - before[k], 1) for k in before}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 (loopback only)
            return r.status == 200
    except OSError:
        return False


def start_app(
    checkpoint: str | None, threads: str | None, log=subprocess.DEVNULL, extra_env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free loopback port, in its own process group; returns once it
    answers. `log`: a file for its output (bench.py waits there for the compile to finish)."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False")
    if checkpoint:
        env["DIFFUSION_DEMO_CHECKPOINT"] = checkpoint
    if threads:
        env["OMP_NUM_THREADS"] = threads
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT if log is not subprocess.DEVNULL else subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the app exited with {proc.returncode} while starting")
        if answers(url):
            return proc, url
        time.sleep(0.5)
    stop_app(proc)
    sys.exit("the app did not answer within 180 s")


def stop_app(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.busy: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []
        self.cancelled = 0

    def ok(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.latency[endpoint].append(seconds)

    def fail(self, endpoint: str, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"
        with self.lock:
            if "Queue is full" in text:
                self.busy[endpoint] += 1
            else:
                self.errors[endpoint] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{endpoint}: {text[:200]}")


def client_options(args) -> dict:
    """gradio_client's options for the simulated users: ssl_verify=False unless --client-defaults.

    With its defaults gradio_client builds a new TLS context (~34 ms of CPU here) for each
    upload, queue join and result stream, even for http://: on loopback those clients took
    twice the app's CPU (a 40 s /forward-only run: 54 vs 26 CPU seconds), time the simulated
    students' own machines would spend, not the server's.
    """
    return {} if args.client_defaults else {"ssl_verify": False}


def worker(i: int, url: str, args, deadline: float, stats: Stats) -> None:
    from gradio_client import Client

    rng = random.Random(args.seed + i)
    client = Client(
        url, verbose=False, download_files=False, httpx_kwargs={"timeout": 120}, **client_options(args)
    )
    try:
        while (left := deadline - time.monotonic()) > 0:
            if rng.random() < args.reverse_share:
                endpoint = "/reverse"
                kwargs = dict(
                    sampler="ddim",
                    steps=args.steps,
                    num_samples=args.samples,
                    seed=rng.randrange(2**31),
                    eta=0.0,
                )
            else:
                endpoint = "/forward"
                kwargs = dict(t=rng.randrange(0, 1001), seed=rng.randrange(1000))
            start = time.perf_counter()
            job = client.submit(**kwargs, api_name=endpoint)
            try:
                if endpoint == "/reverse":  # the time to its first frame, as a browser sees it
                    while not job.done() and time.perf_counter() - start < left:
                        if job.outputs():
                            stats.ok("/reverse first frame", time.perf_counter() - start)
                            break
                        time.sleep(0.02)
                job.result(timeout=left + 1)
            except TimeoutError:
                job.cancel()
                with stats.lock:
                    stats.cancelled += 1
                break
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                stats.fail(endpoint, exc)
                if "Queue is full" in str(exc):
                    time.sleep(0.5)  # back off as a user would
                continue
            stats.ok(endpoint, time.perf_counter() - start)
    finally:
        client.close()


def hammer(i: int, url: str, args, deadline: float, stats: Stats) -> None:
    """An API script: DDPM-1000 for 16 digits, again and again, as fast as the app answers."""
    from gradio_client import Client

    client = Client(
        url, verbose=False, download_files=False, httpx_kwargs={"timeout": 300}, **client_options(args)
    )
    try:
        while (left := deadline - time.monotonic()) > 0:
            start = time.perf_counter()
            job = client.submit("ddpm", 1000, 16, 7000 + i, 0.0, api_name="/reverse")
            try:
                job.result(timeout=left + 1)
            except TimeoutError:
                job.cancel()
                break
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                stats.fail("/reverse (hammer)", exc)
                time.sleep(0.5)
                continue
            stats.ok("/reverse (hammer)", time.perf_counter() - start)
    finally:
        client.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="an app already running on loopback (default: start one)")
    p.add_argument("--pid", type=int, help="that app's process id, for its RSS")
    p.add_argument("--clients", type=int, default=8, help=f"concurrent clients, 1..{MAX_CLIENTS} (8)")
    p.add_argument("--duration", type=float, default=60.0, help=f"seconds, at most {MAX_DURATION:.0f} (60)")
    p.add_argument("--reverse-share", type=float, default=0.25, help="fraction of /reverse calls (0.25)")
    p.add_argument("--steps", type=int, default=20, help="/reverse steps per call (20)")
    p.add_argument("--samples", type=int, default=4, help="/reverse samples per call (4)")
    p.add_argument("--checkpoint", help="DIFFUSION_DEMO_CHECKPOINT for a self-started app")
    p.add_argument("--app-threads", help="OMP_NUM_THREADS for a self-started app (torch's default)")
    p.add_argument("--hammer", type=int, default=0, help="extra API clients looping DDPM-1000 × 16 (0)")
    p.add_argument(
        "--client-defaults",
        action="store_true",
        help="gradio_client's default options (a TLS context per request) instead of ssl_verify=False",
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be in 1..{MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        p.error(f"--duration must be in (0, {MAX_DURATION:.0f}]")
    if not 0 <= args.reverse_share <= 1:
        p.error("--reverse-share must be in [0, 1]")

    proc = None
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host not in LOOPBACK:
            p.error(f"only loopback targets are allowed, not {host!r}")
        url, pid = args.url if args.url.endswith("/") else args.url + "/", args.pid
        if not answers(url):
            p.error(f"nothing answers at {url}")
    else:
        print("starting the app (and waiting until its compiled UNet is warm)…", flush=True)
        log = tempfile.TemporaryFile("w+")
        proc, url = start_app(args.checkpoint, args.app_threads, log=log)
        pid = proc.pid
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            log.seek(0)
            if any(w in log.read() for w in ("compiled UNet", "running eagerly")):
                break
            time.sleep(0.2)
    try:
        rss_start = rss_mb(pid)
        stats = Stats()
        print(f"{args.clients} clients for {args.duration:.0f} s against {url}", flush=True)
        start = time.monotonic()
        deadline = start + args.duration
        threads = [
            threading.Thread(target=worker, args=(i, url, args, deadline, stats), daemon=True)
            for i in range(args.clients)
        ] + [
            threading.Thread(target=hammer, args=(i, url, args, deadline, stats), daemon=True)
            for i in range(args.hammer)
        ]
        rss_samples: list[tuple[float, float]] = []  # (seconds since start, MB), every 2 s

        def sample_rss() -> None:
            while time.monotonic() < deadline:
                value = rss_mb(pid)
                if value is not None:
                    rss_samples.append((time.monotonic() - start, value))
                time.sleep(2.0)

        threads.append(threading.Thread(target=sample_rss, daemon=True))
        cpu0 = cpu_split(pid) if pid else None
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()) + 30)
        wall = time.monotonic() - start
        cpu = cpu_spent(cpu0, cpu_split(pid)) if pid else None
        rss_end = rss_mb(pid)
        # "flat": the app warms up (compiles, fills its caches) early on; compare from there
        warm = [mb for at, mb in rss_samples if at >= args.duration / 4]
        rss_warm = warm[0] if warm else None
        rss_peak = max([mb for _, mb in rss_samples] + [rss_end or 0.0]) or None
    finally:
        if proc is not None:
            stop_app(proc)

    summary = {
        "clients": args.clients,
        "duration_s": round(wall, 1),
        "completed": sum(len(v) for v in stats.latency.values()),
        "busy": sum(stats.busy.values()),
        "errors": sum(stats.errors.values()),
        "cancelled_at_end": stats.cancelled,
        "cpu_s": cpu,
        "rss_mb_start": None if rss_start is None else round(rss_start, 1),
        "rss_mb_end": None if rss_end is None else round(rss_end, 1),
        "rss_mb_after_first_quarter": None if rss_warm is None else round(rss_warm, 1),
        "rss_mb_peak": None if rss_peak is None else round(rss_peak, 1),
        "endpoints": {},
    }
    print(f"\n{'endpoint':<22} {'done':>6} {'busy':>6} {'errors':>6} {'p50 s':>8} {'p95 s':>8}")
    for endpoint in ("/forward", "/reverse", "/reverse first frame", "/reverse (hammer)"):
        lat = stats.latency.get(endpoint, [])
        row = {
            "completed": len(lat),
            "busy": stats.busy.get(endpoint, 0),
            "errors": stats.errors.get(endpoint, 0),
            "p50_s": round(percentile(lat, 50), 3) if lat else None,
            "p95_s": round(percentile(lat, 95), 3) if lat else None,
        }
        summary["endpoints"][endpoint] = row
        p50 = f"{row['p50_s']:.3f}" if lat else "-"
        p95 = f"{row['p95_s']:.3f}" if lat else "-"
        print(f"{endpoint:<22} {row['completed']:>6} {row['busy']:>6} {row['errors']:>6} {p50:>8} {p95:>8}")
    fmt = lambda v: "n/a" if v is None else f"{v:.0f} MB"  # noqa: E731
    print(
        f"\napp RSS: {fmt(rss_start)} at start, {fmt(rss_warm)} after the first quarter (warmed up), "
        f"{fmt(rss_end)} at end, peak {fmt(rss_peak)}"
    )
    if cpu:
        print(
            f"CPU seconds in {wall:.0f} s on {os.cpu_count()} cores: "
            + ", ".join(f"{k} {v}" for k, v in cpu.items())
        )
    for line in stats.examples:
        print("error:", line)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
