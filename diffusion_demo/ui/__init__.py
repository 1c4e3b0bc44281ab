"""The Gradio app: one module per tab; this file only assembles them.

Tabs follow the blog's order: forward chain and schedule -> T -> infinity gives noise ->
the learned reverse chain -> off the manifold and back -> the 2D picture. Owns the app's
start: loading the UNet, the engine and the compiled worker's warm-up, the queue.

May import: gradio and every part but cli.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading

import gradio as gr

from ..config import IMAGES, QUEUE
from ..models import unet
from ..serving import compiled, torch_thread, worker
from ..serving.engine import Engine
from . import keys, lecture, runtime, sharing, zerogpu
from .common import UIContext, schedule_panel
from .deeplinks.wire import wire as wire_deeplinks
from .runtime import Blocks
from .tabs import decision, forward, inpaint, reverse, roundtrip, schedule, toy2d
from .theme import CSS, HEAD, theme

log = logging.getLogger("diffusion_demo")

TABS = (
    ("forward", "1 · Forward chain", forward),
    ("schedule", "2 · Schedule lab", schedule),
    ("reverse", "3 · Reverse chain", reverse),
    ("roundtrip", "4 · Off the manifold and back", roundtrip),
    ("toy2d", "5 · The 2D picture", toy2d),
    ("inpaint", "6 · Fill in", inpaint),
)

INTRO = """# Order From Chaos
Take an image and add a little noise, again and again: it becomes unrecognisable. A
diffusion model learns to **undo** that, one small step at a time — order from chaos.
"""


def load_denoiser() -> tuple[object | None, str | None]:
    """The shipped model, or (None, message) when it is missing or corrupt."""
    path = os.environ.get("DIFFUSION_DEMO_CHECKPOINT") or unet.MODEL.checkpoint
    try:
        if unet.on_zero_gpu():
            # on this thread, which imported `spaces` (app.py): its torch patches that let the
            # model move to "cuda" before any GPU exists are a torch mode, which is per thread
            denoiser = unet.load(path)
        else:
            # on the torch thread, like every chain later: a first parallel op here would give
            # this thread an OpenMP pool of its own for good (see serving.torch_thread)
            denoiser = torch_thread.call(unet.load, path)
    except unet.CheckpointError as exc:
        log.warning("%s", exc)
        return None, str(exc)
    gc.freeze()  # the libraries' and the model's objects live as long as the app: never rescan them
    return denoiser, None


# Set once the server answers (app.py, after launch()); WARM once the compiled UNet serves
# (or compiling it failed): the benchmarks and tests wait for it.
SERVING = threading.Event()
WARM = threading.Event()


def warm_up(denoiser: unet.Denoiser, engine: Engine | None) -> None:
    """Start the compiled UNet in the background; the page is served at once and chains run
    eagerly meanwhile. With the engine: in a worker process (serving/worker.py: the package
    holds the GIL while it runs); without (ZeroGPU): in this process, on the torch thread."""
    if not unet.compile_wanted():
        WARM.set()
        return
    threading.Thread(target=_warm_up, args=(denoiser, engine), name="compile-warm-up", daemon=True).start()


def _warm_up(denoiser: unet.Denoiser, engine: Engine | None) -> None:
    try:
        if engine is not None:
            network = worker.take(denoiser)  # (app.py may have started it before the imports)
            log.warning("compiled UNet %s, in a worker process (pid %s)", network.wait_ready(), network.pid)
            engine.network = network
        else:
            log.warning("compiled UNet %s", compiled.ensure(denoiser, call=torch_thread.call))
            gc.freeze()
    except Exception as exc:  # no compiler on this machine: stay eager, which is only slower
        log.warning("compiling the UNet failed (%s: %s); running eagerly", type(exc).__name__, exc)
    finally:
        WARM.set()


def build_demo(denoiser: object | None = None, checkpoint_error: str | None = None) -> gr.Blocks:
    """Build the whole app. Pass a denoiser to skip loading the shipped checkpoint (tests)."""
    zerogpu.prepare()  # (on ZeroGPU only)
    build_warm = denoiser is None and checkpoint_error is None
    if build_warm:
        denoiser, checkpoint_error = load_denoiser()
    engine = None
    # (DIFFUSION_DEMO_ENGINE=0: every chain calls the model itself, for benchmarks/gpu_check.py)
    if denoiser is not None and not unet.on_zero_gpu() and os.environ.get("DIFFUSION_DEMO_ENGINE") != "0":
        # every chain's ε̂ through one engine (its network in-process on the torch thread
        # until the compiled worker is ready); on ZeroGPU each run has a GPU call of its own
        engine = Engine(denoiser, call=torch_thread.call)
    if denoiser is not None and build_warm:
        warm_up(denoiser, engine)  # started before the page is built: the worker starts meanwhile
    with Blocks(
        title="Order From Chaos — diffusion, step by step", delete_cache=(300, 600), analytics_enabled=False
    ) as demo:
        bar = lecture.build_bar()  # the scene bar (?lecture=…) at the very top
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Accordion(
            "Variance schedule β_t (shared by every tab)", open=False, elem_id="schedule-panel"
        ):
            panel = schedule_panel()
        ctx = UIContext(schedule=panel, denoiser=denoiser, checkpoint_error=checkpoint_error, engine=engine)
        with gr.Tabs(elem_id="tabs") as tabs:
            for tab_id, label, module in TABS:
                with gr.Tab(label, id=tab_id, elem_id=f"tab-{tab_id}"):
                    module.build(ctx)
        wire_deeplinks(demo, tabs, ctx, expand=lecture.expand)
        bar.wire(demo)
    demo.engine = ctx.engine  # (for the benchmarks and tests: its status, its settings)
    zerogpu.wrap(demo)  # on ZeroGPU only: the model's handlers borrow a GPU per call
    demo.run_heavy_on_torch_thread()
    runtime.atomic_image_cache()  # output pictures written whole (h11 errors otherwise)
    if ctx.engine is not None:
        demo.wrap_events(QUEUE.chains_id, functools.partial(sharing.engine_chain, ctx.engine))
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


def launch_kwargs(host: str | None = None, port: int | None = None) -> dict:
    """Everything launch() needs, shared by app.py and the tests."""
    return dict(
        server_name=host or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=port or int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        theme=theme(),
        css=CSS,
        head=HEAD + keys.HEAD + lecture.HEAD + decision.HEAD,
        ssr_mode=False,
        max_file_size=IMAGES.max_upload,
        enable_monitoring=False,
        max_threads=QUEUE.max_threads,
        show_error=False,
        footer_links=["api", "gradio"],
    )
