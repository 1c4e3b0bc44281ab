"""What the forward-chain tab shows, computed without Gradio: the image x_0 (an upload or a
shipped example), the fixed ε per seed, x_t with its formula and histogram, and the strip
of the Markov chain step by step next to the closed form, with its table.

Everything a drag asks for again is cached (small, thread-safe LRUs): the source image,
ε, the chain strip and the PNG files of x_0 and ε. The tab (ui/tabs/forward.py) wires
these to widgets and endpoints.

May import: config, checks, diffusion, media and libraries. Never ui or cli.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..checks import in_range
from ..config import FORWARD, FORWARD_TAB, IMAGES, PLAYBACK
from ..diffusion import forward
from ..diffusion.schedules import ScheduleSpec, build_scheduler, validate_spec
from . import equations, images, plots
from .lru import LRU

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


_SOURCES = LRU(32)
_NOISE = LRU(16)
_CHAINS = LRU(16)
_PLAYS = LRU(4)
# /forward's x_0 and ε repeat from call to call (same image, same seed): their PNGs are
# written once and handed to Gradio by path instead of being encoded again on every call
# (~5 ms each for a noisy 256 px image: enough to push a round trip past gradio_client's
# 50 ms polling tick). Files live in a private temp folder, at most 64 of them.
_PNG_DIR = tempfile.TemporaryDirectory(prefix="order-from-chaos-")
_PNGS = LRU(64, on_evict=lambda path: Path(path).unlink(missing_ok=True))


def png_file(key: Hashable, make_image: Callable[[], Image.Image]) -> str:
    """The path of a PNG of `make_image()`, written once per key."""

    def write() -> str:
        path = Path(_PNG_DIR.name) / f"{uuid.uuid4().hex}.png"
        make_image().save(path)
        return str(path)

    return _PNGS.get(key, write)


# --------------------------------------------------------------------------------------
# The inputs: x_0, the seed's ε, and one checked request
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The image x_0 after validation and resizing to the work size."""

    key: Hashable
    image: Image.Image  # RGB or L, longer side = IMAGES.work_size
    x0: torch.Tensor  # (C, H, W) in [-1, 1]
    info: str  # one line for the UI: where it came from and how it was converted


def example_names() -> list[str]:
    return list(images.examples())


def default_example() -> str | None:
    """FORWARD_TAB.example when it is shipped, else the first example (None: there is none)."""
    names = example_names()
    return FORWARD_TAB.example if FORWARD_TAB.example in names else (names[0] if names else None)


def resolve_source(image: str | os.PathLike | None, example: str | None = FORWARD_TAB.example) -> Source:
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
    name = example if example not in (None, "") else FORWARD_TAB.example
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


def noise_image(source: Source, seed: int) -> Image.Image:
    """ε for this image's shape and seed, ±3σ mapped to black/white."""
    return images.noise_to_pil(noise_for(tuple(source.x0.shape), seed))


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


# --------------------------------------------------------------------------------------
# The views of one request
# --------------------------------------------------------------------------------------


def compute_xt(req: ForwardRequest) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, ε): eq. 4 of Ho et al. 2020 via the diffusers scheduler's add_noise."""
    eps = noise_for(tuple(req.source.x0.shape), req.seed)
    return forward.q_sample(req.source.x0, req.t, req.spec, eps), eps


def xt_view(req: ForwardRequest) -> tuple[Image.Image, str]:
    """What depends on t: x_t and the formula with the numbers substituted."""
    x_t, _ = compute_xt(req)
    return images.to_pil(x_t), str(equations.forward_md(req.spec, req.t))


def full_view(req: ForwardRequest) -> tuple[Image.Image, str, str, str]:
    """x_t, x_0 and ε (PNG files, written once per image and seed) and the formula."""
    x_t, eps = compute_xt(req)
    return (
        images.to_pil(x_t),
        png_file(("x0", req.source.key), lambda: req.source.image),
        png_file(("eps", tuple(eps.shape), req.seed), lambda: images.noise_to_pil(eps)),
        str(equations.forward_md(req.spec, req.t)),
    )


def histogram_view(req: ForwardRequest) -> Image.Image:
    """Histogram of x_t's pixels with the theoretical density, rendered to an image."""
    x_t, _ = compute_xt(req)
    alpha_bar = equations.forward_numbers(req.spec, req.t).alpha_bar
    return plots.histogram_image(x_t, req.source.x0, alpha_bar, req.t)


# --------------------------------------------------------------------------------------
# ▶ Play: what the browser needs to draw x_t for every t itself
# --------------------------------------------------------------------------------------


def play_payload(req: ForwardRequest) -> dict:
    """x_0, ε and the coefficients of eq. 4 for t = 0 … T, for the browser to draw x_t at any t.

    One download per image/seed/schedule instead of one request per frame: x_0 as its PNG
    (exact), ε as two PNGs of 16-bit levels over ±PLAYBACK.eps_range σ (high and low bytes),
    a[t] = √ᾱ_t and b[t] = √(1 − ᾱ_t) as float32 values (the same numbers add_noise uses;
    a[0] = 1, b[0] = 0: x_0 itself). The browser's x_t = clip(a x_0 + b ε) matches the
    server's within one grey level. Cached per (image, schedule, seed); req.t is not used.
    """
    key = (req.source.key, req.spec, req.seed)
    return _PLAYS.get(key, lambda: _play_payload(req.source, req.spec, req.seed))


def _png_data_url(a: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _channels_last(x: torch.Tensor) -> np.ndarray:
    a = x.numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def _play_payload(source: Source, spec: ScheduleSpec, seed: int) -> dict:
    eps = noise_for(tuple(source.x0.shape), seed)
    r = PLAYBACK.eps_range
    levels = np.round((_channels_last(eps.clamp(-r, r)).astype(np.float64) / r + 1.0) * 32767.5)
    levels = levels.clip(0, 65535).astype(np.uint32)
    alpha_bar = build_scheduler(spec).alphas_cumprod.float()
    a = torch.cat([torch.ones(1), alpha_bar**0.5])
    b = torch.cat([torch.zeros(1), (1 - alpha_bar) ** 0.5])
    c, h, w = source.x0.shape
    return {
        "key": f"{source.key}|{spec}|{seed}",
        "T": spec.T,
        "width": w,
        "height": h,
        "channels": c,
        "eps_range": r,
        "x0": _png_data_url(images.to_uint8(source.x0)),
        "eps_hi": _png_data_url((levels >> 8).astype(np.uint8)),
        "eps_lo": _png_data_url((levels & 255).astype(np.uint8)),
        "a": [float(v) for v in a],
        "b": [float(v) for v in b],
    }


# --------------------------------------------------------------------------------------
# The chain strip: step by step (eq. 2) against one jump (eq. 4)
# --------------------------------------------------------------------------------------


def chain_view(source: Source, spec: ScheduleSpec, seed: int) -> tuple[Image.Image, str]:
    """The strip of both rows and the Markdown note with its noise-level table (cached)."""
    return _CHAINS.get((source.key, spec, seed), lambda: _chain_strip(source, spec, seed))


def _chain_strip(source: Source, spec: ScheduleSpec, seed: int) -> tuple[Image.Image, str]:
    small = images.fit(source.image, FORWARD.strip_size)
    rows = forward.chain_rows(images.to_tensor(small), spec, seed)
    return _compose_strip(rows), f"{CHAIN_NOTE.strip()}\n\n{_chain_table(rows, spec)}"


def _chain_table(rows: forward.ChainRows, spec: ScheduleSpec) -> str:
    """Predicted std √(1 − ᾱ_t) of x_t − √ᾱ_t x_0 against the measured one, in both rows."""
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
    return "\n".join(
        [
            header,
            rule,
            "| predicted std $\\sqrt{1-\\bar\\alpha_t}$ | " + " | ".join(theory) + " |",
            "| measured, step by step | " + " | ".join(it_row) + " |",
            "| measured, closed form | " + " | ".join(cf_row) + " |",
        ]
    )


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _compose_strip(rows: forward.ChainRows, gap: int = 4) -> Image.Image:
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
