"""A classroom at once, on loopback: the start-up, then 30 students pressing Generate.

    python benchmarks/classroom.py                  # 30 clients, DDIM-50 × 16, within 10 s
    python benchmarks/classroom.py --clients 6 --steps 20 --samples 4     # the suite's small one

1. Start-up: `python app.py` twice (the second start finds the compiled UNet in the cache):
   seconds until the page answers, until the model is warm, until a first warm DDIM-50 run
   is done, and /forward's p50 while it warms up (gradio_client, ssl_verify=False).
2. Classroom: N gradio_client clients, each pressing Generate once (/reverse, different
   seeds) at a random moment within --spread seconds: each one's first frame and completion,
   measured from its press; digits per second over the whole.
3. One after another: the same N runs from one client, back to back, in the same app. Their
   measured durations give what the same presses would have waited in a one-at-a-time queue
   (c_k = max(press_k, c_{k-1}) + duration_k): the baseline the classroom figures are divided by.
4. The app's RSS during and 5 s after.

Prints a table and one JSON line. Only loopback; the app it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (the app starter, RSS and percentiles of the load test)

MAX_CLIENTS = 64


def start_logged(cache: str | None) -> tuple[subprocess.Popen, str, object, float]:
    """Start the app with its log in a temporary file; returns (process, url, log, start time)."""
    log = tempfile.TemporaryFile("w+")
    began = time.monotonic()
    env_cache = {} if cache is None else {"DIFFUSION_DEMO_CACHE": cache}
    proc, url = load.start_app(None, None, log=log, extra_env=env_cache)
    return proc, url, log, began


def wait_warm(proc: subprocess.Popen, log, timeout: float = 600) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        log.seek(0)
        text = log.read()
        if "compiled UNet" in text:
            return True
        if "running eagerly" in text:
            return False
        time.sleep(0.1)
    return False


def forward_while_warming(url: str, proc, log, limit_s: float = 60) -> list[float]:
    """/forward latencies (s) from the moment the page answers until the model is warm."""
    from gradio_client import Client

    client = Client(url, verbose=False, ssl_verify=False)
    times: list[float] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        start = time.perf_counter()
        client.predict(t=random.randrange(1001), seed=0, api_name="/forward")
        times.append(time.perf_counter() - start)
        log.seek(0)
        if "compiled UNet" in (text := log.read()) or "running eagerly" in text:
            break
    client.close()
    return times


def one_run(client, seed: int, args) -> tuple[float, float]:
    """(first frame, completion) seconds of one /reverse run, from its submission."""
    start = time.perf_counter()
    job = client.submit("ddim", args.steps, args.samples, seed, 0.0, api_name="/reverse")
    first = None
    while first is None and not job.done():  # poll only until the first frame: 30 clients
        if job.outputs():  # polling every 10 ms to the end took 2.4× the CPU of one client
            first = time.perf_counter() - start
        time.sleep(0.01)
    job.result()  # waits without polling
    done = time.perf_counter() - start
    return (first if first is not None else done), done


def startup(cache: str | None, args) -> dict:
    proc, url, log, began = start_logged(cache)
    answered = time.monotonic() - began
    try:
        fwd = forward_while_warming(url, proc, log)
        warm = wait_warm(proc, log)
        warm_s = time.monotonic() - began
        from gradio_client import Client

        client = Client(url, verbose=False)
        one_run(client, 0, argparse.Namespace(steps=50, samples=16))
        first_run_s = time.monotonic() - began
        client.close()
    finally:
        load.stop_app(proc)
    return {
        "answers_s": round(answered, 1),
        "warm_s": round(warm_s, 1) if warm else None,
        "first_warm_ddim50_s": round(first_run_s, 1),
        "forward_p50_ms_while_warming": round(1000 * statistics.median(fwd), 1) if fwd else None,
        "forward_calls_while_warming": len(fwd),
    }


def classroom(url: str, pid: int, args) -> dict:
    from gradio_client import Client

    rng = random.Random(args.seed)
    presses = sorted(rng.uniform(0, args.spread) for _ in range(args.clients))
    clients = [Client(url, verbose=False, download_files=False) for _ in range(args.clients)]
    results: list = [None] * args.clients
    rss: list[float] = []
    t0 = time.monotonic() + 1.0

    def student(i: int) -> None:
        time.sleep(max(0.0, t0 + presses[i] - time.monotonic()))
        try:
            results[i] = one_run(clients[i], 1000 + i, args)
        except Exception as exc:  # noqa: BLE001 (counted)
            results[i] = exc

    threads = [threading.Thread(target=student, args=(i,)) for i in range(args.clients)]
    cpu0 = load.cpu_split(pid)
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        if (mb := load.rss_mb(pid)) is not None:
            rss.append(mb)
        time.sleep(0.5)
    # the makespan, from the first press to the last digit (the same for both: idle time counts)
    end = max(p + r[1] for p, r in zip(presses, results, strict=True) if isinstance(r, tuple))
    cpu1 = load.cpu_split(pid)
    errors = [r for r in results if not isinstance(r, tuple)]
    ok = [r for r in results if isinstance(r, tuple)]
    # one after another: the same runs from one client, back to back
    seq = [one_run(clients[0], 1000 + i, args) for i in range(args.clients)]
    cpu2 = load.cpu_split(pid)
    queue_done, prev = [], 0.0
    queue_first = []
    for press, (first, dur) in zip(presses, seq, strict=True):
        begin = max(press, prev)
        prev = begin + dur
        queue_done.append(prev - press)
        queue_first.append(begin - press + first)
    time.sleep(5)
    rss_after = load.rss_mb(pid)
    for c in clients:
        c.close()
    digits = args.clients * args.samples
    return {
        "errors": len(errors),
        "error_examples": [f"{type(e).__name__}: {e}"[:200] for e in errors[:3]],
        "first_frame_p95_s": round(load.percentile([r[0] for r in ok], 95), 2),
        "first_frame_p50_s": round(load.percentile([r[0] for r in ok], 50), 2),
        "completion_p95_s": round(load.percentile([r[1] for r in ok], 95), 2),
        "completion_p50_s": round(load.percentile([r[1] for r in ok], 50), 2),
        "digits_per_s": round(digits / (end - presses[0]), 1),
        "sequential_first_frame_p95_s": round(load.percentile(queue_first, 95), 2),
        "sequential_completion_p95_s": round(load.percentile(queue_done, 95), 2),
        "sequential_digits_per_s": round(digits / (prev - presses[0]), 1),
        "sequential_run_s_median": round(statistics.median(d for _, d in seq), 2),
        "cpu_s_classroom": load.cpu_spent(cpu0, cpu1),
        "cpu_s_sequential": load.cpu_spent(cpu1, cpu2),
        "rss_mb_peak": round(max(rss), 0) if rss else None,
        "rss_mb_5s_after": round(rss_after, 0) if rss_after else None,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=30, help=f"students, 1..{MAX_CLIENTS} (30)")
    p.add_argument("--spread", type=float, default=10.0, help="they press within this many seconds (10)")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps (50)")
    p.add_argument("--samples", type=int, default=16, help="digits per run (16)")
    p.add_argument("--no-startup", action="store_true", help="skip the two start-up measurements")
    p.add_argument("--startup-only", action="store_true", help="only the two start-up measurements")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be in 1..{MAX_CLIENTS}")
    summary: dict = {"clients": args.clients, "steps": args.steps, "samples": args.samples}
    cache = tempfile.mkdtemp(prefix="classroom-cache-")  # a cold cache: the first start builds
    try:
        if not args.no_startup:
            summary["first_start"] = startup(cache, args)
            summary["second_start"] = startup(cache, args)
            print(
                "start-up:",
                json.dumps(summary["first_start"]),
                json.dumps(summary["second_start"]),
                flush=True,
            )
        if args.startup_only:
            print(json.dumps(summary))
            return summary
        proc, url, log, _ = start_logged(None if args.no_startup else cache)
        try:
            wait_warm(proc, log)
            summary["classroom"] = classroom(url, proc.pid, args)
        finally:
            load.stop_app(proc)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    c = summary["classroom"]
    print(
        f"\n{args.clients} clients, DDIM-{args.steps} × {args.samples}: first frame p95 {c['first_frame_p95_s']} s "
        f"(one after another: {c['sequential_first_frame_p95_s']} s), completion p95 {c['completion_p95_s']} s "
        f"(one after another: {c['sequential_completion_p95_s']} s, ratio "
        f"{c['completion_p95_s'] / c['sequential_completion_p95_s']:.2f}), {c['digits_per_s']} digits/s "
        f"(one after another: {c['sequential_digits_per_s']}, ratio "
        f"{c['digits_per_s'] / c['sequential_digits_per_s']:.2f}), {c['errors']} errors, RSS peak "
        f"{c['rss_mb_peak']} MB, {c['rss_mb_5s_after']} MB 5 s after"
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
