"""ui.runtime: what the app relies on below Gradio's public API.

The first tests are canaries: each checks one private method or attribute of Gradio that
diffusion_demo/ui/runtime.py uses, and fails with a message naming the function there to
revisit when a Gradio upgrade changes it. The rest test runtime's behaviour (`around`, heavy
events on the torch thread, the queue's polling). torch's libgomp: tests/serving/test_torch_thread.py.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from pathlib import Path

import gradio as gr
import pytest
from gradio.blocks import BlockFunction
from gradio.queueing import Queue

from diffusion_demo.ui import runtime
from diffusion_demo.ui.common import CHAINS, HEAVY
from diffusion_demo.ui.runtime import around


def changed(name: str, function: str) -> str:
    """The canaries' message: what changed and where to look."""
    return f"Gradio {gr.__version__} changed {name}: revisit diffusion_demo/ui/runtime.py {function}"


def parameters(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


# --------------------------------------------------------------------------------------
# Canaries: Gradio
# --------------------------------------------------------------------------------------

OVERRIDDEN = [
    ("validate_inputs", ["self", "block_fn", "inputs"], False),
    ("preprocess_data", ["self", "block_fn", "inputs", "state", "explicit_call"], True),
]


def test_gradio_keeps_the_current_request_in_a_context_variable():
    """ui.sharing learns whose run it is from Gradio's LocalContext.request (a ContextVar)."""
    import contextvars

    from gradio.context import LocalContext

    var = getattr(LocalContext, "request", None)
    assert isinstance(var, contextvars.ContextVar), changed(
        "gradio.context.LocalContext.request", "current_request"
    )
    assert runtime.current_request() is None  # outside a handler
    request = gr.Request()
    token = var.set(request)
    try:
        assert runtime.current_request() is request, changed("LocalContext.request", "current_request")
    finally:
        var.reset(token)


@pytest.mark.parametrize("name, params, is_async", OVERRIDDEN, ids=[o[0] for o in OVERRIDDEN])
def test_the_overridden_gradio_methods_keep_their_signature(name, params, is_async):
    where = f"Blocks.{name}"
    method = getattr(gr.blocks.Blocks, name, None)
    assert method is not None, changed(f"gradio.blocks.Blocks.{name} (gone)", where)
    assert parameters(method) == params, changed(
        f"gradio.blocks.Blocks.{name}{inspect.signature(method)}", where
    )
    assert inspect.iscoroutinefunction(method) == is_async, changed(
        f"gradio.blocks.Blocks.{name} (async?)", where
    )
    assert parameters(getattr(runtime.Blocks, name)) == params, where  # ours matches what we super()


@pytest.mark.parametrize(
    "caller, call, function",
    [
        ("preprocess_data", "self.validate_inputs(", "Blocks.validate_inputs"),
        ("process_api", "self.preprocess_data(", "Blocks.preprocess_data"),
        ("call_function", "block_fn.fn", "Blocks.run_heavy_on_torch_thread"),
    ],
)
def test_gradio_still_calls_what_runtime_overrides_or_rewrites(caller, call, function):
    """An override Gradio no longer calls would be silently skipped: its source must call it."""
    method = getattr(gr.blocks.Blocks, caller, None)
    assert method is not None, changed(f"gradio.blocks.Blocks.{caller} (gone)", function)
    assert call in inspect.getsource(method), changed(
        f"gradio.blocks.Blocks.{caller} (no longer calls {call.rstrip('(')})", function
    )


def test_runtime_adds_no_name_gradio_blocks_already_has():
    """Our Blocks' own names must not shadow a Gradio internal of the same name."""
    ours = {
        "_poll",
        "_polling_slowly",
        "run_heavy_on_torch_thread",
        "_names",
        "QUEUE_POLL_S",
        "PROGRESS_POLL_S",
    }
    assert ours <= set(vars(runtime.Blocks))
    for name in sorted(ours):
        assert not hasattr(gr.Blocks, name), changed(
            f"gradio.blocks.Blocks.{name} (added; ours shadows it)", f"Blocks.{name}"
        )


@pytest.mark.parametrize(
    "method, attribute",
    [
        ("start_processing", "self.sleep_when_free"),
        ("start_progress_updates", "self.progress_update_sleep_when_free"),
    ],
)
def test_the_queue_still_polls_with_the_attributes_runtime_sets(method, attribute):
    name = f"gradio.queueing.Queue.{attribute.removeprefix('self.')}"
    assert hasattr(Queue, method), changed(f"gradio.queueing.Queue.{method} (gone)", "Blocks._poll")
    assert attribute in inspect.getsource(getattr(Queue, method)), changed(name, "Blocks._poll")


def test_blocks_queue_and_block_functions_have_what_runtime_reads():
    with runtime.Blocks() as demo:
        number = gr.Number(label="n", minimum=0, maximum=1)
        gr.Button().click(lambda n: n, number, number, api_name="echo", **HEAVY)
    demo.queue()
    queue = getattr(demo, "_queue", None)
    assert isinstance(queue, Queue), changed("Blocks._queue", "Blocks._poll")
    for attribute in ("sleep_when_free", "progress_update_sleep_when_free"):
        assert isinstance(getattr(queue, attribute, None), float), changed(
            f"Queue.{attribute}", "Blocks._poll"
        )
    assert isinstance(demo.fns, dict), changed("Blocks.fns", "Blocks.run_heavy_on_torch_thread")
    (block_fn,) = demo.fns.values()
    assert isinstance(block_fn, BlockFunction), changed(
        "Blocks.fns (values)", "Blocks.run_heavy_on_torch_thread"
    )
    for attribute in ("fn", "concurrency_id", "inputs", "api_name", "input_parameter_names"):
        assert hasattr(block_fn, attribute), changed(
            f"BlockFunction.{attribute}", "Blocks.run_heavy_on_torch_thread / _names"
        )
    assert block_fn.concurrency_id == HEAVY["concurrency_id"] and block_fn.inputs == [number]
    assert block_fn.api_name == "echo"


def test_the_layout_tree_has_what_the_deep_links_walk():
    with gr.Blocks():
        with gr.Tabs() as tabs:
            with gr.Tab("A", id="a") as a, gr.Row(), gr.Column():
                slider = gr.Slider(0, 1)
            gr.Tab("No id")
        outside = gr.Number()
    assert hasattr(slider, "parent"), changed("Block.parent", "owner_tab")
    assert hasattr(tabs, "children"), changed("BlockContext.children", "child_tabs")
    assert runtime.owner_tab(slider) == "a", changed("Block.parent", "owner_tab")
    assert runtime.owner_tab(outside) is None
    assert runtime.child_tabs(tabs) == [a], changed("BlockContext.children", "child_tabs")


def test_gradio_writes_output_images_through_what_runtime_replaces():
    """atomic_image_cache swaps the module attribute every image output goes through."""
    from gradio import image_utils, processing_utils

    assert parameters(processing_utils.save_pil_to_cache)[:4] == ["img", "cache_dir", "name", "format"], (
        changed("processing_utils.save_pil_to_cache's signature", "atomic_image_cache")
    )
    for helper in ("encode_pil_to_bytes", "hash_bytes"):
        assert callable(getattr(processing_utils, helper, None)), changed(
            f"processing_utils.{helper}", "_save_pil_to_cache"
        )
    for caller in (
        image_utils.save_image,
        image_utils.format_image,
        processing_utils.save_img_array_to_cache,
    ):
        assert "save_pil_to_cache(" in inspect.getsource(caller), changed(
            f"{caller.__qualname__} (no longer calls save_pil_to_cache)", "atomic_image_cache"
        )


# --------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------


def recording_context(log: list[str]):
    @contextlib.contextmanager
    def context():
        log.append("enter")
        try:
            yield
        finally:
            log.append("exit")

    return context


def test_around_a_call_enters_and_exits_once_and_passes_the_result():
    log: list[str] = []

    def add(a, b=0):
        log.append("call")
        return a + b

    wrapped = around(add, recording_context(log))
    assert wrapped(2, b=3) == 5
    assert log == ["enter", "call", "exit"]
    assert wrapped.__wrapped__ is add  # Gradio reads the signature through functools.wraps


def test_around_a_generator_spans_its_whole_run_and_exits_when_closed():
    log: list[str] = []

    def count(n):
        for i in range(n):
            log.append(f"step {i}")
            yield i

    assert list(around(count, recording_context(log))(2)) == [0, 1]
    assert log == ["enter", "step 0", "step 1", "exit"]

    log.clear()
    gen = around(count, recording_context(log))(5)
    assert next(gen) == 0
    assert log == ["enter", "step 0"]  # still inside while the generator is paused
    gen.close()  # what Gradio does on Stop
    assert log == ["enter", "step 0", "exit"]


def test_every_heavy_event_of_the_app_runs_on_the_torch_thread(tiny_denoiser):
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=tiny_denoiser)
    from gradio import processing_utils

    assert processing_utils.save_pil_to_cache is runtime._save_pil_to_cache  # atomic_image_cache
    heavy = [fn for fn in demo.fns.values() if fn.concurrency_id == HEAVY["concurrency_id"]]
    assert len(heavy) >= 6  # 2D training and animations, exports
    for block_fn in heavy:
        assert getattr(block_fn.fn, "on_torch_thread", False), block_fn.name
    # the UNet's chains run side by side, sharing the network through the engine instead
    chains = [fn for fn in demo.fns.values() if fn.concurrency_id == CHAINS["concurrency_id"]]
    names = {fn.api_name for fn in chains}
    assert {"reverse", "compare", "compare_guidance", "roundtrip", "roundtrip_sketch", "inpaint"} <= names
    for block_fn in chains:
        assert not getattr(block_fn.fn, "on_torch_thread", False), block_fn.name
        assert block_fn.concurrency_limit == CHAINS["concurrency_limit"] > 30
    reverse = next(fn for fn in chains if fn.api_name == "reverse")
    assert reverse.types_generator
    # Gradio's queue polls every 1 ms when idle, every 5 ms while a heavy job runs (its
    # wake-ups slowed the chain by ~25%)
    queue = demo._queue
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (0.001, 0.01)
    seen = []

    def job():
        seen.append((queue.sleep_when_free, queue.progress_update_sleep_when_free))
        yield 1

    assert list(around(job, demo._polling_slowly)()) == [1]
    assert seen == [(0.005, 0.05)]
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (0.001, 0.01)


def test_a_cached_picture_is_written_whole_once_and_never_rewritten(tmp_path, monkeypatch):
    """Gradio names an output picture's file by its bytes' hash; rewriting it in place let a
    browser fetching it meanwhile read a file growing under it (h11: "Too much data for
    declared Content-Length"). The same picture again must leave the file alone."""
    from gradio import processing_utils
    from PIL import Image

    img = Image.new("L", (28, 28), 128)
    img.putpixel((3, 4), 7)
    expected = processing_utils.encode_pil_to_bytes(img, "webp")
    path = runtime._save_pil_to_cache(img, str(tmp_path))
    assert path.endswith("image.webp") and open(path, "rb").read() == expected
    assert [p.name for p in Path(path).parent.iterdir()] == ["image.webp"]  # no staging file left
    inode = os.stat(path).st_ino

    def no_writing(*args, **kwargs):
        raise AssertionError("an identical picture was written again")

    monkeypatch.setattr(runtime.tempfile, "mkstemp", no_writing)
    monkeypatch.setattr(Path, "write_bytes", no_writing)
    assert runtime._save_pil_to_cache(img, str(tmp_path)) == path
    assert os.stat(path).st_ino == inode and open(path, "rb").read() == expected


def test_a_reader_racing_the_writers_always_reads_the_whole_picture(tmp_path):
    """Many requests output the same new picture while a reader (the browser) fetches it."""
    from gradio import processing_utils
    from PIL import Image

    for trial in range(20):
        img = Image.new("L", (28, 28), trial)
        expected = processing_utils.encode_pil_to_bytes(img, "webp")
        folder = tmp_path / processing_utils.hash_bytes(expected)
        target = folder / "image.webp"
        seen: list[int] = []
        stop = threading.Event()

        def reader(target: Path, seen: list[int], stop: threading.Event) -> None:
            while not stop.is_set():
                try:
                    seen.append(len(target.read_bytes()))
                except FileNotFoundError:
                    pass

        t = threading.Thread(target=reader, args=(target, seen, stop))
        t.start()
        writers = [
            threading.Thread(target=runtime._save_pil_to_cache, args=(img, str(tmp_path))) for _ in range(4)
        ]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        stop.set()
        t.join()
        assert set(seen) <= {len(expected)}, (
            f"trial {trial}: read {sorted(set(seen))} bytes of {len(expected)}"
        )
