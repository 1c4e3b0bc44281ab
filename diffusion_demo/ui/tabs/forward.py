"""Tab 1 · Forward chain: watch an image dissolve into noise, step by step or in one jump.

The handlers here are plain functions of plain values (file path, t, schedule, seed, …) so
the UI events, the public API endpoints and the tests all call the same code. UI events
are private; the public endpoints (/forward, /chain) take their inputs from hidden,
unbounded components so that every check — and its message — is ours, not a widget's.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ...checks import in_range
from ...config import FORWARD, IMAGES, SCHEDULE, SCHEDULE_NAMES
from ...diffusion import forward
from ...diffusion.schedules import ScheduleSpec, validate_spec
from ...media import equations, images, plots
from .. import downloads
from ..common import UIContext, figure_image, guarded

DEFAULT_EXAMPLE = "photo-landscape"
DEFAULT_T = 250
DEFAULT_SEED = 0

INTRO = r"""
### The forward process: a little noise, T times
Take an image $x_0$ and add a small amount of Gaussian noise. Then add a little more to *that*,
and again, $T$ times ($T$ is usually around 1000). Each step looks only at the image of the step
before — the forward process is a **Markov chain**:
$q(x_t \mid x_{t-1}) = \mathcal{N}\big(\sqrt{1-\beta_t}\, x_{t-1},\ \beta_t I\big)$.
The variance schedule $\beta_t$ keeps every step small, so each step removes only a little
information — which is what makes a single step learnable in reverse.

Because every step is Gaussian you can also **jump** to any $t$ in one go:
$x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1-\bar\alpha_t}\, \varepsilon$.
Drag $t$: the same $\varepsilon$ (one per seed) is used at every $t$, so you watch one image
fade into noise. As $T \to \infty$, $\bar\alpha_T \to 0$ and $x_T$ becomes pure noise
$\mathcal{N}(0, I)$: nothing of the image is left. Nothing here is learned — the forward
process has no parameters; only the way back is trained.
"""

CHAIN_NOTE = r"""
**Step by step or in one jump?** The top row really runs the chain, drawing fresh noise
$\sqrt{\beta_t}\,z$ at each of the $T$ steps; the bottom row jumps straight to each $t$ with
the closed form. The pixels differ because the noise draws differ, but the *distribution* of
$x_t$ is the same: the Gaussians compose, so both have mean $\sqrt{\bar\alpha_t}\,x_0$ and
variance $1-\bar\alpha_t$. The table checks it on these images: the noise part
$x_t - \sqrt{\bar\alpha_t}\,x_0$ has the predicted standard deviation in both rows.
"""


# --------------------------------------------------------------------------------------
# Small thread-safe caches: drags must not reload images or re-run the 1000-step chain.
# --------------------------------------------------------------------------------------


class _LRU:
    def __init__(self, size: int, on_evict: Callable[[Any], None] | None = None) -> None:
        self._size = size
        self._on_evict = on_evict
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()  # outside the lock: slow work must not block other sessions
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                _, old = self._data.popitem(last=False)
                if self._on_evict is not None:
                    self._on_evict(old)
        return value


_SOURCES = _LRU(32)
_NOISE = _LRU(16)
_CHAINS = _LRU(16)
# /forward's x_0 and ε repeat from call to call (same image, same seed): their PNGs are
# written once and handed to Gradio by path instead of being encoded again on every call
# (~5 ms each for a noisy 256 px image: enough to push a round trip past gradio_client's
# 50 ms polling tick). Files live in a private temp folder, at most 64 of them.
_PNG_DIR = tempfile.TemporaryDirectory(prefix="order-from-chaos-")
_PNGS = _LRU(64, on_evict=lambda path: Path(path).unlink(missing_ok=True))


def png_file(key: Hashable, make_image: Callable[[], Image.Image]) -> str:
    """The path of a PNG of `make_image()`, written once per key."""

    def write() -> str:
        path = Path(_PNG_DIR.name) / f"{uuid.uuid4().hex}.png"
        make_image().save(path)
        return str(path)

    return _PNGS.get(key, write)


@dataclass(frozen=True)
class Source:
    """The image x_0 after validation and resizing to the work size."""

    key: Hashable
    image: Image.Image  # RGB or L, longer side = IMAGES.work_size
    x0: torch.Tensor  # (C, H, W) in [-1, 1]
    info: str  # one line for the UI: where it came from and how it was converted


def example_names() -> list[str]:
    return list(images.examples())


def resolve_source(image: str | os.PathLike | None, example: str | None = DEFAULT_EXAMPLE) -> Source:
    """An uploaded file (validated by images.load_image) or, when there is none, a shipped example."""
    if image is not None and str(image).strip():
        path = Path(image)
        try:
            # by content: an API client uploads the same image again with every call (a new
            # file, or the same path rewritten), and decoding, resizing and re-encoding x_0 and
            # ε took ~35 ms of a /forward call; hashing a 512×512 PNG takes ~1 ms
            key: Hashable = ("upload", hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest())
        except OSError:
            raise ValueError("No image file was received.") from None
        return _SOURCES.get(key, lambda: _make_source(key, path, f"your upload **{path.name}**"))
    name = example if example not in (None, "") else DEFAULT_EXAMPLE
    known = images.examples()
    if name not in known:
        raise ValueError(f"Unknown example {name!r}: expected one of {', '.join(known)}.")
    key = ("example", name)
    return _SOURCES.get(key, lambda: _make_source(key, known[name], f"the example **{name}**"))


def _make_source(key: Hashable, path: Path, label: str) -> Source:
    original = images.load_image(path)
    work = images.fit(original, IMAGES.work_size)
    kind = "gray" if work.mode == "L" else "colour"
    info = (
        f"Using {label}: {original.width}×{original.height} → {work.width}×{work.height} {kind} "
        f"(longer side {IMAGES.work_size} px, aspect kept), pixels scaled to [-1, 1]."
    )
    return Source(key, work, images.to_tensor(work), info)


def check_seed(seed: object) -> int:
    """A whole number in [0, max_seed]."""
    return in_range(seed, "seed", 0, IMAGES.max_seed)


def noise_for(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """One fixed ε per (shape, seed): dragging t morphs x_t instead of re-drawing the noise."""
    return _NOISE.get((tuple(shape), seed), lambda: forward.fixed_noise(tuple(shape), seed))


@dataclass(frozen=True)
class ForwardRequest:
    source: Source
    spec: ScheduleSpec
    t: int
    seed: int


def validate(
    image: str | None,
    t: Any,
    schedule: str,
    seed: Any,
    example: str | None,
    beta_start: Any,
    beta_end: Any,
    T: Any,
) -> ForwardRequest:
    """Check every input (schedule first: it sets the range of t) and load the image."""
    spec = validate_spec(schedule, beta_start, beta_end, T)
    t = forward.check_t(t, spec.T)
    seed = check_seed(seed)
    return ForwardRequest(resolve_source(image, example), spec, t, seed)


def compute_xt(req: ForwardRequest) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, ε): eq. 4 of Ho et al. 2020 via the diffusers scheduler's add_noise."""
    eps = noise_for(tuple(req.source.x0.shape), req.seed)
    return forward.q_sample(req.source.x0, req.t, req.spec, eps), eps


# --------------------------------------------------------------------------------------
# Handlers (plain values in, plain values out)
# --------------------------------------------------------------------------------------


def forward_api(
    image: str | None = None,
    t: float = DEFAULT_T,
    schedule: str = "linear",
    seed: float = DEFAULT_SEED,
    example: str | None = DEFAULT_EXAMPLE,
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> tuple[Image.Image, str, str, str]:
    """/forward: x_t (first), then x_0, ε (PNG files) and the formula with the current numbers."""
    req = validate(image, t, schedule, seed, example, beta_start, beta_end, T)
    x_t, eps = compute_xt(req)
    return (
        images.to_pil(x_t),
        png_file(("x0", req.source.key), lambda: req.source.image),
        png_file(("eps", tuple(eps.shape), req.seed), lambda: images.noise_to_pil(eps)),
        str(equations.forward_md(req.spec, req.t)),
    )


def forward_view(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
) -> tuple[Image.Image, str]:
    """UI drag handler: only what depends on t (x_t and the formula)."""
    req = validate(image, t, schedule, seed, example, beta_start, beta_end, T)
    x_t, _ = compute_xt(req)
    return images.to_pil(x_t), str(equations.forward_md(req.spec, req.t))


def histogram(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
):
    """Histogram of x_t's pixels with the theoretical density, rendered to an image."""
    req = validate(image, t, schedule, seed, example, beta_start, beta_end, T)
    x_t, _ = compute_xt(req)
    alpha_bar = equations.forward_numbers(req.spec, req.t).alpha_bar
    return plots.histogram_image(x_t, req.source.x0, alpha_bar, req.t)


def prepare(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
) -> tuple:
    """UI handler when the image, seed or schedule changes: x_0, ε, status line, t's range.

    Bad input is shown in the status line, not raised: the schedule panel's number boxes
    fire on every keystroke, and half-typed values must not pop up error after error. A
    refused upload also gets a warning toast (it is a discrete action worth flagging).
    Outputs: x_0, ε, x_t (cleared when the upload is refused), status, t slider.
    """
    try:
        spec = validate_spec(schedule, beta_start, beta_end, T)
        seed = check_seed(seed)
    except ValueError as exc:
        return gr.skip(), gr.skip(), gr.skip(), f"⛔ {exc}", gr.skip()
    slider = gr.update(maximum=spec.T)
    try:
        if float(t) > spec.T:
            slider = gr.update(maximum=spec.T, value=spec.T)
    except (TypeError, ValueError):
        slider = gr.update(maximum=spec.T, value=min(DEFAULT_T, spec.T))
    try:
        source = resolve_source(image, example)
    except ValueError as exc:
        gr.Warning(str(exc))
        return None, gr.skip(), None, f"⛔ {exc}", slider
    eps = noise_for(tuple(source.x0.shape), seed)
    return source.image, images.noise_to_pil(eps), gr.skip(), source.info, slider


def chain_api(
    image: str | None = None,
    schedule: str = "linear",
    seed: float = DEFAULT_SEED,
    example: str | None = DEFAULT_EXAMPLE,
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> tuple[Image.Image, str]:
    """/chain: the iterated Markov chain next to the closed form at 9 evenly spaced t."""
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = check_seed(seed)
    source = resolve_source(image, example)
    return _CHAINS.get((source.key, spec, seed), lambda: _chain_strip(source, spec, seed))


@dataclass(frozen=True)
class ChainRows:
    ts: list[int]
    iterated: dict[int, torch.Tensor]
    closed: dict[int, torch.Tensor]
    x0: torch.Tensor


def chain_rows(x0: torch.Tensor, spec: ScheduleSpec, seed: int, n: int = FORWARD.chain_frames) -> ChainRows:
    """x_t at n evenly spaced t: eq. 2 iterated T times, and eq. 4 in one jump (another ε)."""
    ts = forward.evenly_spaced(spec.T, n)
    iterated = forward.iterate_chain(x0, spec, ts, seed)
    eps = forward.fixed_noise(tuple(x0.shape), seed)
    closed = {t: forward.q_sample(x0, t, spec, eps) for t in ts}
    return ChainRows(ts, iterated, closed, x0)


def _chain_strip(source: Source, spec: ScheduleSpec, seed: int) -> tuple[Image.Image, str]:
    small = images.fit(source.image, FORWARD.strip_size)
    rows = chain_rows(images.to_tensor(small), spec, seed)
    strip = _compose_strip(rows)
    curves = plots.cached_curves(spec)
    header = "| t | " + " | ".join(str(t) for t in rows.ts) + " |"
    rule = "|---" * (len(rows.ts) + 1) + "|"
    theory, it_row, cf_row = [], [], []
    for t in rows.ts:
        ab = 1.0 if t == 0 else float(curves.alpha_bar[t - 1])
        signal = np.sqrt(ab) * rows.x0
        theory.append(f"{np.sqrt(1 - ab):.3f}")
        it_row.append(f"{float((rows.iterated[t] - signal).std()):.3f}")
        cf_row.append(f"{float((rows.closed[t] - signal).std()):.3f}")
    table = "\n".join(
        [
            header,
            rule,
            "| predicted std $\\sqrt{1-\\bar\\alpha_t}$ | " + " | ".join(theory) + " |",
            "| measured, step by step | " + " | ".join(it_row) + " |",
            "| measured, closed form | " + " | ".join(cf_row) + " |",
        ]
    )
    return strip, f"{CHAIN_NOTE.strip()}\n\n{table}"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _compose_strip(rows: ChainRows, gap: int = 4) -> Image.Image:
    """Two labelled rows of frames: iterated chain on top, closed form below."""
    first = images.to_pil(rows.closed[rows.ts[0]]).convert("RGB")
    fw, fh = first.size
    scale = max(1, round(96 / max(fw, fh)))
    fw, fh = fw * scale, fh * scale
    label_w, head_h = 150, 26
    width = label_w + len(rows.ts) * (fw + gap)
    height = head_h + 2 * (fh + gap)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font, small = _font(15), _font(12)
    for i, t in enumerate(rows.ts):
        x = label_w + i * (fw + gap)
        draw.text((x + fw // 2, head_h // 2), f"t = {t}", fill=(20, 20, 20), font=font, anchor="mm")
        for r, frames in enumerate((rows.iterated, rows.closed)):
            tile = images.to_pil(frames[t]).convert("RGB").resize((fw, fh), Image.Resampling.NEAREST)
            canvas.paste(tile, (x, head_h + r * (fh + gap)))
    for r, (title, sub) in enumerate(
        (("step by step", "q(x_t | x_t-1), T steps"), ("closed form", "q(x_t | x_0), one jump"))
    ):
        y = head_h + r * (fh + gap) + fh // 2
        draw.text((6, y - 9), title, fill=(20, 20, 20), font=font, anchor="lm")
        draw.text((6, y + 10), sub, fill=(90, 90, 90), font=small, anchor="lm")
    return canvas


def random_seed() -> int:
    return random.SystemRandom().randint(0, IMAGES.max_seed)


def _quiet(fn: Callable, n_outputs: int) -> Callable:
    """For UI events after `prepare`: on bad input leave the outputs as they are (prepare
    already shows the message), so one mistake gives one message, not three."""

    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError:
            return gr.skip() if n_outputs == 1 else tuple(gr.skip() for _ in range(n_outputs))

    wrapper.__name__ = fn.__name__
    return wrapper


# --------------------------------------------------------------------------------------
# Layout and events
# --------------------------------------------------------------------------------------


def build(ctx: UIContext) -> None:
    """The forward-chain explorer (called inside its gr.Tab)."""
    panel = ctx.schedule
    names = example_names()
    default_example = DEFAULT_EXAMPLE if DEFAULT_EXAMPLE in names else (names[0] if names else None)
    spec0 = ScheduleSpec()
    # Initial views, computed once per process (cached) so the page shows content at once.
    x_t0, x00, eps0, formula0 = forward_api(None, DEFAULT_T, "linear", DEFAULT_SEED, default_example)
    strip0, chain_md0 = chain_api(None, "linear", DEFAULT_SEED, default_example)
    hist0 = histogram(None, DEFAULT_T, "linear", DEFAULT_SEED, default_example, *_betas(spec0))
    info0 = resolve_source(None, default_example).info

    gr.Markdown(INTRO, latex_delimiters=equations.LATEX_DELIMITERS, elem_id="forward-intro")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            example = gr.Dropdown(
                names, value=default_example, label="Example image", elem_id="forward-example"
            )
            upload = gr.File(
                label="…or upload your own (PNG, JPEG, WebP, GIF, BMP)",
                file_types=["image"],
                type="filepath",
                height=150,
                elem_id="forward-upload",
            )
            with gr.Row():
                seed = gr.Number(
                    DEFAULT_SEED,
                    label="Seed (fixes ε)",
                    precision=0,
                    minimum=0,
                    maximum=IMAGES.max_seed,
                    elem_id="forward-seed",
                    scale=2,
                    min_width=120,
                )
                reseed = gr.Button("🎲 New ε", elem_id="forward-reseed", scale=1, min_width=90)
            info = gr.Markdown(info0, elem_id="forward-source")
        with gr.Column(scale=3):
            t = gr.Slider(
                0,
                SCHEDULE.default_T,
                value=DEFAULT_T,
                step=1,
                label="t: how many noise steps (0 = the clean image, T = pure noise)",
                elem_id="forward-t",
            )
            with gr.Row():
                x0_img = _image("x₀: the image", x00, "forward-x0")
                eps_img = _image("ε ~ N(0, I), fixed by the seed", eps0, "forward-eps")
                xt_img = _image("xₜ = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε", x_t0, "forward-xt")
            gr.Markdown(
                "ε is shown with ±3σ mapped to black/white; xₜ is clipped to [-1, 1] for display.",
                elem_id="forward-display-note",
            )
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            formula = gr.Markdown(
                formula0,
                latex_delimiters=equations.LATEX_DELIMITERS,
                elem_id="forward-formula",
                elem_classes=["formula"],
            )
        with gr.Column(scale=1):
            hist = figure_image("Pixel statistics of xₜ", "forward-histogram", hist0, show_label=False)
    with gr.Accordion("The Markov chain, step by step vs. in one jump", open=True, elem_id="forward-chain"):
        strip = figure_image("x₀ … x_T at 9 evenly spaced t", "forward-chain-strip", strip0, show_label=False)
        chain_md = gr.Markdown(
            chain_md0, latex_delimiters=equations.LATEX_DELIMITERS, elem_id="forward-chain-note"
        )
        downloads.forward_row([upload, panel.schedule, seed, example, *panel.inputs[1:]])

    ctx.links["t"] = t
    ctx.links["seed"] = seed
    ctx.links["example"] = example

    view_inputs = [upload, t, panel.schedule, seed, example, *panel.inputs[1:]]
    # These run off the torch thread (see ui.torch_thread), with one OpenMP thread each (by
    # `guarded`): a few ms of noising must not wait behind a long export or 2D training.
    chain_inputs = [upload, panel.schedule, seed, example, *panel.inputs[1:]]

    # Dragging t: only x_t, the formula and the histogram change (two events, so x_t is
    # not held back by matplotlib; stale drags are dropped). Bad input is reported once, in
    # the status line, by `prepare`; these events then leave their outputs as they are.
    t.change(
        guarded(_quiet(forward_view, 2)),
        view_inputs,
        [xt_img, formula],
        api_name="forward_view",
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
        queue=False,  # a few ms of work: skip the queue's round trips while dragging
    )
    t.change(
        guarded(_quiet(histogram, 1)),
        view_inputs,
        hist,
        api_name="forward_histogram",
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    # A new image, seed or schedule: validate once (one message on bad input), then refresh.
    prep = gr.on(
        [upload.change, example.change, seed.change, *(c.change for c in panel.inputs)],
        guarded(prepare),
        view_inputs,
        [x0_img, eps_img, xt_img, info, t],
        api_name="forward_prepare",
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
        # one at a time: a deep link changes several inputs at once, and two prepares running
        # side by side could finish out of order, leaving x_0 of an earlier value on screen
        concurrency_limit=1,
    )
    prep.success(
        _quiet(forward_view, 2),
        view_inputs,
        [xt_img, formula],
        api_name="forward_refresh",
        api_visibility="private",
        show_progress="hidden",
    )
    prep.success(
        guarded(_quiet(histogram, 1)),
        view_inputs,
        hist,
        api_name="forward_refresh_histogram",
        api_visibility="private",
        show_progress="hidden",
    )
    prep.success(
        _quiet(chain_api, 2),
        chain_inputs,
        [strip, chain_md],
        api_name="forward_chain",
        api_visibility="private",
        show_progress="minimal",
    )
    reseed.click(random_seed, None, seed, api_name="forward_reseed", api_visibility="private")
    # Picking an example replaces an upload.
    example.input(lambda: None, None, upload, api_name="forward_use_example", api_visibility="private")

    # Public API: hidden, unbounded inputs so that the checks and messages are ours.
    with gr.Group(visible=False):
        api_image = gr.File(label="image", type="filepath")
        api_t = gr.Number(DEFAULT_T, label="t")
        api_schedule = gr.Textbox("linear", label="schedule")
        api_seed = gr.Number(DEFAULT_SEED, label="seed")
        api_example = gr.Textbox(default_example, label="example")
        api_beta_start = gr.Number(SCHEDULE.default_beta_start, label="beta_start")
        api_beta_end = gr.Number(SCHEDULE.default_beta_end, label="beta_end")
        api_T = gr.Number(SCHEDULE.default_T, label="T")
        api_md = gr.Markdown()
        api_xt, api_x0, api_eps, api_strip = (
            gr.Image(type="pil", format="png", label=n) for n in ("x_t", "x_0", "eps", "chain")
        )
    api_common = [api_schedule, api_seed, api_example, api_beta_start, api_beta_end, api_T]
    gr.on(
        [],
        guarded(forward_api),
        [api_image, api_t, *api_common],
        [api_xt, api_x0, api_eps, api_md],
        api_name="forward",
        api_description=(
            "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps for an uploaded image (or a shipped "
            f"example when image is None). schedule: one of {', '.join(SCHEDULE_NAMES)}; t in [0, T]; "
            "returns x_t, x_0, eps and the formula (Markdown) with the numbers substituted."
        ),
    )
    gr.on(
        [],
        guarded(chain_api),
        [api_image, *api_common],
        [api_strip, api_md],
        api_name="chain",
        api_description=(
            "The forward Markov chain iterated step by step (top row) next to the closed form (bottom "
            "row) at 9 evenly spaced t, and a Markdown table comparing their noise levels."
        ),
    )


def _image(label: str, value: Image.Image, elem_id: str) -> gr.Image:
    return figure_image(label, elem_id, value, format="webp", height=280)


def _betas(spec: ScheduleSpec) -> tuple[float, float, int]:
    return spec.beta_start, spec.beta_end, spec.T
