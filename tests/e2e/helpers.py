"""Start the real app (`python app.py`) in a subprocess and talk to it over loopback."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUARD = Path(__file__).with_name("network_guard.py")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# What a test page may not fetch: anything but the app on loopback and inline data. Only these
# requests are intercepted, so the app's own (~120 a page load) skip the driver's round trip.
NOT_LOOPBACK = re.compile(r"^(?!http://127\.0\.0\.1|data:|blob:)")


def loopback_only(context, blocked: list[str] | None = None) -> None:
    """Refuse every request of `context` beyond 127.0.0.1, listing its URL in `blocked`."""

    def refuse(route) -> None:
        if blocked is not None:
            blocked.append(route.request.url)
        route.abort()

    context.route(NOT_LOOPBACK, refuse)


def shots_folder(tmp_path_factory, env: str, name: str) -> Path:
    """Where a test module saves its screenshots for a human to look at: $`env`, or a temporary
    folder (its path printed)."""
    folder = Path(os.environ.get(env) or tmp_path_factory.mktemp(name))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n{name}: {folder}")
    return folder


def error_toasts(page) -> list[str]:
    """The texts of the red error toasts the page shows now (each cut to 200 characters)."""
    toasts = page.locator('[data-testid="toast-body"].error')
    return [toasts.nth(i).inner_text()[:200] for i in range(toasts.count())]


# Texts that must never reach a user: tracebacks and paths inside the server.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|site-packages|/tmp/gradio|gradio_api/file=/|"
    + re.escape(str(ROOT))
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@dataclass
class RunningApp:
    """A `python app.py` subprocess listening on 127.0.0.1:port."""

    proc: subprocess.Popen
    port: int
    workdir: Path
    log_path: Path
    env: dict = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def temp_dir(self) -> Path:
        """Gradio's cache (GRADIO_TEMP_DIR) of this app."""
        return Path(self.env["GRADIO_TEMP_DIR"])

    @property
    def guard_log(self) -> Path:
        return self.workdir / "network-guard.log"

    def blocked(self) -> list[str]:
        """Outbound connections the network guard refused so far."""
        return self.guard_log.read_text().splitlines() if self.guard_log.exists() else []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def answers(self) -> bool:
        try:
            return http_get(self.url, timeout=5)[0] == 200
        except OSError:
            return False

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def app_env(workdir: Path, checkpoint: str | os.PathLike | None, **extra: str) -> dict:
    """The environment of a fresh app: no network helpers, one torch thread, private cache."""
    env = {
        k: v
        for k, v in os.environ.items()
        # The app must not depend on the tests' own settings (offline flags, analytics off).
        if not k.startswith(("GRADIO_", "HF_", "DIFFUSION_DEMO_", "PYTEST_"))
    }
    cache = workdir / "gradio-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env.update(
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_TEMP_DIR=str(cache),
        # Hugging Face caches in the test's folder, never the user's home.
        HF_HOME=str(workdir / "hf-home"),
        MPLCONFIGDIR=str(workdir / "mpl"),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS=os.environ.get("E2E_APP_THREADS", "1"),
        MKL_NUM_THREADS=os.environ.get("E2E_APP_THREADS", "1"),
        PYTHONUNBUFFERED="1",
        NETWORK_GUARD_LOG=str(workdir / "network-guard.log"),
        NETWORK_GUARD_EXIT_WITH_PARENT=str(os.getpid()),
    )
    if checkpoint is not None:
        env["DIFFUSION_DEMO_CHECKPOINT"] = str(checkpoint)
    env.update(extra)
    return env


# Gradio's launch() checks its own URL with a 3 s HEAD and exits on a timeout ("When
# localhost is not accessible, a shareable link must be created"): on a loaded machine the
# first page render can take longer. That start is retried; any other failure is not.
SLOW_START = "When localhost is not accessible"


def start_app(
    workdir: Path,
    checkpoint: str | os.PathLike | None,
    offline: bool = True,
    timeout: float = 240.0,
    **extra_env: str,
) -> RunningApp:
    """`python app.py --port N` (under the network guard when offline); waits until it answers."""
    for attempt in range(3):
        try:
            return _start_app(
                workdir / f"try{attempt}" if attempt else workdir, checkpoint, offline, timeout, **extra_env
            )
        except RuntimeError as exc:
            if SLOW_START not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_app(
    workdir: Path, checkpoint: str | os.PathLike | None, offline: bool, timeout: float, **extra_env: str
) -> RunningApp:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = app_env(workdir, checkpoint, **extra_env)
    cmd = [sys.executable, *([str(GUARD)] if offline else []), "app.py", "--port", str(port)]
    log_path = workdir / "app.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    app = RunningApp(proc, port, workdir, log_path, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not app.alive():
            raise RuntimeError(f"app exited with {proc.returncode} before answering:\n{app.log()[-4000:]}")
        if app.answers():
            return app
        time.sleep(0.5)
    stop_app(app)
    raise RuntimeError(f"app did not answer within {timeout:.0f} s:\n{app.log()[-4000:]}")


def stop_app(app: RunningApp) -> None:
    """SIGTERM, then SIGKILL the app's own process group (it was started in a new session)."""
    if app.proc.poll() is not None:
        return
    try:
        os.killpg(app.proc.pid, signal.SIGTERM)
        app.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(app.proc.pid, signal.SIGKILL)
        app.proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def assert_clean_message(message: str) -> None:
    """A user-facing error: non-empty, no traceback, no server path."""
    assert message.strip(), "empty error message"
    leak = LEAKS.search(message)
    assert leak is None, f"error message leaks {leak.group(0)!r}: {message!r}"


def write_checkpoint(out: Path, tiny: bool = False, seed: int = 0) -> Path:
    """An untrained DDPMPipeline folder written by the project's own export code."""
    import torch

    from diffusion_demo.training.train import build_unet, export

    torch.manual_seed(seed)
    export(build_unet(tiny=tiny).eval(), out, {"tiny": tiny, "untrained": True})
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_busy(pid: int, window: float = 3.0) -> float:
    """Cores the process kept busy over `window` seconds (1.0 = one core flat out)."""
    start = cpu_seconds(pid)
    time.sleep(window)
    return (cpu_seconds(pid) - start) / window


def app_config(app: RunningApp) -> dict:
    import json

    status, body = http_get(app.url + "config")
    assert status == 200
    return json.loads(body)


def fn_index(config: dict, api_name: str) -> int:
    """The queue's fn_index of a named endpoint (what the browser sends to /queue/join)."""
    for dep in config["dependencies"]:
        if dep.get("api_name") == api_name.lstrip("/"):
            return dep["id"]
    raise KeyError(api_name)


def benchmark_script(name: str):
    """benchmarks/<name>.py imported as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
