"""The repository as it stands deploys as a Hugging Face Space: its configuration is the
README's front matter, its files fit the Hub's limits, the app needs nothing from outside.

ZeroGPU (the free hardware): `spaces` is pinned; with SPACES_ZERO_GPU unset the app is what it
is without it (run here), and the model's handlers, wrapped by the real `spaces` code with
ZeroGPU switched on (its scheduler faked, its GPU worker a real forked process), still stream
their frames and end cut-off runs with a clear message."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import gradio
import pytest

from .clients import api_client

ROOT = Path(__file__).resolve().parent.parent
HUB_FILE_LIMIT = 10 * 2**20  # larger files need git-xet / LFS on the Hub


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Space's YAML front matter"
    pairs = (line.split(":", 1) for line in match[1].splitlines() if ":" in line)
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_front_matter_configures_a_gradio_space():
    fm = front_matter()
    assert fm["sdk"] == "gradio"
    assert fm["app_file"] == "app.py" and (ROOT / fm["app_file"]).is_file()
    assert fm["python_version"] == "3.11"  # diffusers needs >= 3.11; Spaces default to 3.10
    assert fm["suggested_hardware"] == "zero-a10g"  # ZeroGPU: the free Gradio hardware (docs/deploy.md)
    assert fm["title"] and fm["emoji"]
    assert 0 < len(fm["short_description"]) <= 60  # the Hub's limit


def test_gradio_version_is_the_same_everywhere():
    """Spaces install gradio from sdk_version, the rest from requirements.txt: one version."""
    assert front_matter()["sdk_version"] == pins()["gradio"] == gradio.__version__
    assert pins()["torch"] == "2.13.0"


def test_spaces_is_pinned_and_installed_at_that_version():
    """ZeroGPU needs `spaces` (it refuses a Space without a spaces.GPU function at start-up)."""
    from importlib.metadata import version

    pytest.importorskip("spaces", reason="pip install -r requirements.txt (spaces is pinned there)")
    assert pins()["spaces"] == version("spaces")


def test_no_tracked_file_needs_lfs():
    try:
        files = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    big = [f.decode() for f in files if f and (ROOT / f.decode()).stat().st_size > HUB_FILE_LIMIT]
    assert not big, f"over 10 MB (the Hub needs LFS for these): {big}"


def test_the_shipped_model_is_in_the_repository():
    weights = ROOT / "assets" / "ddpm-digits" / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.is_file() and weights.stat().st_size < HUB_FILE_LIMIT
    assert (ROOT / "assets" / "ddpm-digits" / "scheduler" / "scheduler_config.json").is_file()


# --------------------------------------------------------------------------------------
# ZeroGPU: SPACES_ZERO_GPU unset (everywhere but a ZeroGPU Space), then switched on
# --------------------------------------------------------------------------------------

MODEL_ENDPOINTS = {
    "reverse",
    "compare",
    "compare_guidance",
    "roundtrip",
    "roundtrip_sketch",
    "roundtrip_curve",
    "inpaint",
}


def test_with_spaces_installed_and_zero_gpu_unset_the_app_runs_as_without_it(tiny_cond_denoiser, monkeypatch):
    """The real `spaces` imported, SPACES_ZERO_GPU unset: its decorator is the function itself,
    the app keeps its batching engine, wraps nothing, and a run goes through the engine."""
    spaces = pytest.importorskip("spaces")
    from diffusion_demo.ui import zerogpu

    from .ui.conftest import served

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def frames(n):
        yield from range(n)

    assert spaces.GPU(frames) is frames and spaces.GPU(duration=5)(frames) is frames
    assert zerogpu.borrow(frames) is frames
    with served(tiny_cond_denoiser) as (demo, url):
        assert demo.engine is not None
        marked = zerogpu.marked(demo)
        assert {f.api_name for f in marked} == MODEL_ENDPOINTS  # light endpoints never take a GPU
        assert {f.fn.__name__ for f in marked} <= set(zerogpu.ESTIMATES)  # each has its own estimate
        assert not any(hasattr(f.fn, "zerogpu") for f in marked)  # (what spaces.GPU sets on a wrapper)
        ticks = demo.engine.status()["ticks"]
        x_t, x0, *_ = api_client(url).predict("ddim", 3, 2, 0, 0.0, api_name="/reverse")
        assert Path(x_t).is_file() and Path(x0).is_file()
        assert demo.engine.status()["ticks"] >= ticks + 3  # the run's steps were the engine's ticks


def test_gpu_seconds_fit_the_request():
    from diffusion_demo.config import ZEROGPU
    from diffusion_demo.ui.zerogpu import gpu_seconds

    def run(sampler, steps, num_samples, seed, eta, digit="any", guidance=3.0, session=None): ...

    def roundtrip(image, t, seed, example=None, sampler="ddim", steps=100): ...

    ddim = gpu_seconds(run, "ddim", 50, 16, 0, 0.0)
    ddpm = gpu_seconds(run, "ddpm", 1000, 16, 0, 0.0)
    assert ZEROGPU.min_s <= ddim < ddpm <= ZEROGPU.max_s
    assert ddpm >= 2 * ddim  # DDIM-50 asks for far less than DDPM-1000
    assert gpu_seconds(roundtrip, None, 900, 0, steps=1000) > gpu_seconds(roundtrip, None, 100, 0, steps=1000)
    # what the handler will refuse never breaks the estimate
    assert ZEROGPU.min_s <= gpu_seconds(run, "ddim", "many", None, 0, 0.0) <= ZEROGPU.max_s
    assert ZEROGPU.min_s <= gpu_seconds(run, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) <= ZEROGPU.max_s


@pytest.fixture
def zero_gpu(monkeypatch):
    """ZeroGPU switched on for the real `spaces` code: its scheduler (an HTTP service on a Space)
    faked to grant a GPU at once, its worker's CUDA set-up skipped; the worker itself is the real
    forked process, and frames, errors and the end travel through spaces' real queues.
    Yields the durations asked for. The CPU build of torch lacks two CUDA symbols that spaces'
    torch module reads at import: stand-ins for that import only."""
    spaces = pytest.importorskip("spaces")
    import multiprocessing

    import torch

    with monkeypatch.context() as m:
        m.setattr(torch.version, "cuda", torch.version.cuda or "12.8")
        if not hasattr(torch._C, "_cuda_init"):
            m.setattr(torch._C, "_cuda_init", lambda: None, raising=False)
        from spaces.zero import client, wrappers
        from spaces.zero.api import ScheduleResponse

    asked = []

    def schedule(task_id, request=None, duration=None, gpu_size=None, _first_attempt=True):
        asked.append(duration.total_seconds())
        return ScheduleResponse(idle=True, nvidiaIndex=0, nvidiaUUID="GPU-test", allowToken="test")

    before = set(multiprocessing.active_children())
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setattr(spaces.config.Config, "zero_gpu", True)
    monkeypatch.setattr(client, "schedule", schedule)
    monkeypatch.setattr(client, "release", lambda *args, **kwargs: None)
    monkeypatch.setattr(wrappers, "worker_init", lambda **kwargs: None)
    yield asked
    for child in set(multiprocessing.active_children()) - before:  # the GPU workers started here
        child.terminate()
        child.join(10)


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_the_app_on_zero_gpu_streams_each_model_run_from_a_gpu_call(
    zero_gpu, tiny_cond_denoiser, monkeypatch
):
    """The whole app with ZeroGPU on: no engine, the seven model endpoints wrapped by spaces
    and no other (even with Gradio's auto-wrap of every handler on), a /reverse run streamed
    from spaces' GPU worker (its arguments, the gr.Request among them, and every frame
    pickled across), the curve's plot and the round-trip download too."""
    import spaces

    from diffusion_demo.ui import zerogpu

    from .ui.conftest import served

    monkeypatch.setattr(spaces.gradio, "gradio_auto_wrap_enabled", True)  # SPACES_GRADIO_AUTO_WRAP
    monkeypatch.setenv("SYSTEM", "spaces")  # Gradio auto-wraps only on a Space
    monkeypatch.setenv("SPACE_ID", "test/order-from-chaos")
    # and only with `spaces` imported before gradio (as app.py does there; here gradio came first)
    monkeypatch.setattr(gradio.block_function, "spaces", spaces)
    with served(tiny_cond_denoiser) as (demo, url):
        assert demo.engine is None
        assert {f.api_name for f in zerogpu.marked(demo)} == MODEL_ENDPOINTS
        light = [f for f in demo.fns.values() if f.fn is not None and f.api_name not in MODEL_ENDPOINTS]
        assert light and not any(hasattr(f.fn, "zerogpu") for f in light)  # (spaces.GPU's own mark)
        client = api_client(url)
        job = client.submit("ddim", 3, 2, 0, 0.0, api_name="/reverse")
        x_t, x0, *_ = job.result(timeout=120)
        assert Path(x_t).is_file() and Path(x0).is_file() and len(job.outputs()) >= 2  # streamed
        plot, text = client.predict(None, 0, "digit-3", "ddim", 5, api_name="/roundtrip_curve")
        assert plot is not None and "t" in text
        gif = client.predict("gif", None, 400, 0, "digit-3", "ddim", 5, api_name="/export_roundtrip")
        assert Path(gif).stat().st_size > 0
    assert len(zero_gpu) == 3 and all(10 <= s <= 120 for s in zero_gpu)  # each asked ZeroGPU once


def test_a_wrapped_streaming_handler_yields_its_frames_from_the_gpu_call(zero_gpu):
    import os

    import numpy as np

    from diffusion_demo.ui.zerogpu import borrow, gpu_seconds

    def run(sampler, steps, num_samples, seed, eta, digit="any", guidance=3.0):
        for i in range(3):
            yield np.full((28, 28), i, np.uint8), os.getpid()

    wrapped = borrow(run)
    frames = list(wrapped("ddim", 50, 16, 0, 0.0))
    assert [int(f[0, 0]) for f, _ in frames] == [0, 1, 2]
    assert {pid for _, pid in frames} != {os.getpid()}  # made in spaces' GPU worker process
    assert zero_gpu == [gpu_seconds(run, "ddim", 50, 16, 0, 0.0)]
    list(wrapped("ddpm", 1000, 16, 0, 0.0))
    assert zero_gpu[1] >= 2 * zero_gpu[0]


def test_a_cut_off_gpu_run_ends_with_a_clear_message_and_the_next_run_works(zero_gpu):
    import os

    import gradio as gr

    from diffusion_demo.ui.zerogpu import borrow

    def roundtrip(image, t, seed, example=None, sampler="ddim", steps=100):
        yield "first frame"
        if steps > 500:
            os._exit(1)  # what ZeroGPU does to a run past its duration: the worker is gone
        yield "done"

    def fill_in(image, mask="top", steps=50):
        raise gr.Error("steps must be a whole number in [1, 250]", print_exception=False)

    wrapped = borrow(roundtrip)
    with pytest.raises(gr.Error) as info:
        list(wrapped(None, 400, 0, steps=1000))
    assert "stopped this run" in info.value.message and "fewer steps" in info.value.message
    assert list(wrapped(None, 400, 0, steps=100)) == ["first frame", "done"]  # serving goes on
    with pytest.raises(gr.Error, match="whole number") as info:  # the handler's own message
        borrow(fill_in)(None)
    assert "ZeroGPU" not in info.value.message


def test_an_exhausted_quota_says_what_to_try(zero_gpu, monkeypatch):
    import gradio as gr
    from spaces.zero import client
    from spaces.zero.gradio import error

    from diffusion_demo.ui.zerogpu import borrow

    def refuse(*args, **kwargs):
        raise error(
            "ZeroGPU quota exceeded", "You have exceeded your free ZeroGPU quota (28s requested vs. 9s left)."
        )

    monkeypatch.setattr(client, "schedule", refuse)

    def run(sampler, steps, num_samples, seed, eta):
        yield "never"

    with pytest.raises(gr.Error) as info:
        list(borrow(run)("ddpm", 1000, 16, 0, 0.0))
    assert "9s left" in info.value.message and "fewer steps" in info.value.message


def test_cuda_out_of_memory_is_a_clear_message():
    import gradio as gr
    import torch

    from diffusion_demo.ui.common import OUT_OF_MEMORY, guarded

    def run(steps):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(gr.Error) as info:
        guarded(run)(50)
    assert info.value.message == OUT_OF_MEMORY


@pytest.mark.slow  # seconds of work: not in the fast tier
@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_app_with_cuda_forced_and_no_gpu_fails_at_start_in_one_line(tmp_path):
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO_", "DIFFUSION_DEMO_"))}
    env.update(DIFFUSION_DEMO_DEVICE="cuda", GRADIO_SERVER_PORT="1", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "DIFFUSION_DEMO_DEVICE=cuda" in lines[0] and "no CUDA GPU" in lines[0], (
        out.stderr
    )
