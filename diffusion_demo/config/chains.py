"""The two chains and the model: schedule, image, sampler, guidance and fill-in limits and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .paths import ASSETS

SCHEDULE_NAMES: tuple[str, ...] = ("linear", "scaled_linear", "cosine", "sigmoid")
# The reverse chain's Digit choice: any (a label per sample, drawn from the seed), one digit,
# or each (0, 1, …, 9, 0, … across the grid: one of each).
DIGIT_CHOICES: tuple[str, ...] = ("any", *(str(d) for d in range(10)), "each")


@dataclass(frozen=True)
class ScheduleLimits:
    # Ho et al. 2020 use T = 1000; the blog notes "T is generally in the order of 1000".
    default_T: int = 1000
    # Above this the plots and the iterated chain get slow for no teaching gain.
    max_T: int = 4000
    # Ho et al. 2020, section 4: beta_1 = 1e-4 ... beta_T = 0.02 (linear).
    default_beta_start: float = 1e-4
    default_beta_end: float = 0.02
    # A beta of 1 or more would make alpha_t <= 0, i.e. no valid Gaussian step.
    max_beta: float = 0.999
    # alpha_bar_T above this means x_T still carries visible signal: flag it in the UI.
    warn_alpha_bar_T: float = 0.01


@dataclass(frozen=True)
class ImageLimits:
    # The forward tab works at this size: big enough to look like a photo on a slide,
    # small enough that one x_t round trip stays far below 100 ms.
    work_size: int = 256
    # Uploads larger than this many pixels are refused before decoding (decompression bombs).
    max_pixels: int = 40_000_000
    # Gradio refuses bigger request bodies with HTTP 413 (launch(max_file_size=...)).
    max_upload: str = "10mb"
    # An image side shorter than this is not an image anyone can see.
    min_side: int = 1
    # Seeds are passed to torch.Generator.manual_seed, which takes up to 2**63 - 1;
    # keep them in the 32-bit range so they stay easy to type and share in URLs.
    max_seed: int = 2**32 - 1


@dataclass(frozen=True)
class ForwardView:
    # 8-10 evenly spaced frames is what fits on one row of a slide.
    chain_frames: int = 9
    # Histogram bins: enough to see the bell shape, few enough to stay smooth.
    hist_bins: int = 60
    # Display size of the small frames in the chain strip (pixels).
    strip_size: int = 96


@dataclass(frozen=True)
class ModelConfig:
    # Where the shipped checkpoint lives (a diffusers DDPMPipeline folder).
    checkpoint: Path = ASSETS / "ddpm-digits"
    # MNIST's native size: 28 -> 14 -> 7 with two down-samplings, no padding FLOPs wasted.
    sample_size: int = 28
    # Gray digits.
    channels: int = 1


@dataclass(frozen=True)
class ReverseLimits:
    # A 4x4 grid is what the UI shows; more would be slow and unreadable on 2 cores.
    max_samples: int = 16
    default_samples: int = 16
    # T = 1000 training steps: a sampler cannot take more steps than that.
    max_steps: int = 1000
    default_steps: int = 50
    # Browsers cannot show more than this; more frames only fill Gradio's cache.
    max_fps: float = 20.0
    # The most of a run's time that streamed frames may take. Gradio handles a frame on the
    # chain's own time (~15 ms for three small PNGs here), so 20 frames/s of a 30 ms/step
    # chain would slow it by half; the throttle spaces frames to stay within this fraction.
    frame_budget: float = 0.05
    # With several users' chains running (the batching engine), all their frames together
    # at most this many a second: each frame costs the server's event loop, which /forward
    # and every other page share (30 chains: a frame each every 3 s, first and last always).
    shared_fps: float = 10.0
    # Exported frames (GIF, MP4) are the grid upscaled to this width; the UI streams
    # native-size PNGs (~0.3 KB a digit) and the browser upscales them.
    frame_width: int = 256
    # Frames kept for the replay scrubber: bounded memory whatever the step count.
    max_replay_frames: int = 200


@dataclass(frozen=True)
class GuidanceConfig:
    # Classifier-free guidance weight w (Ho & Salimans 2022; diffusers' guidance_scale):
    # 0 = the unconditional model, 1 = the plain conditional one. Measured (model card, DDIM-50,
    # 500 samples): w = 1 gives 94.6% confident digits; w = 3 on the interval below 99.8%,
    # Fréchet 0.94x real-vs-real, read as asked 99.8% (every digit >= 98%).
    default_w: float = 3.0
    # Beyond ~8 samples saturate into blotchy, over-contrasted strokes: nothing left to teach.
    max_w: float = 8.0
    # Guidance interval (Kynkäänniemi et al. 2024): w applies for diffusers timesteps in
    # [lo, hi]; outside it the plain conditional pass (w = 1) runs, one UNet pass not two.
    # Guiding the noisiest half too costs diversity (w = 3 on [200, 700]: Fréchet 2.06x, on
    # [0, 500]: 0.94x) and a second pass: on [0, 500] DDIM-50 needs 26 double steps of 50.
    interval: tuple[int, int] = (0, 500)
    # The row of grids of "same seed, several w": unconditional, conditional, the default, overshot.
    compare_ws: tuple[float, ...] = (0.0, 1.0, 3.0, 6.0)


@dataclass(frozen=True)
class InpaintConfig:
    # A 4x4 grid of completions from one seed: 16 plausible fills show the model's uncertainty
    # (and the compiled graph's batch of 16 serves them).
    num_samples: int = 16
    # RePaint on a strided chain (the scheduler spaces T // steps apart): 50 like DDIM-50.
    default_steps: int = 50
    max_steps: int = 1000
    # Resampling (RePaint's r, jump_n_sample): 1 = the plain masked chain; each more doubles
    # back j steps and comes down again, so that the filled part agrees with the kept part.
    # Measured (inpaint_bench.py, 100 held-out digits, half masked): r = 3 83% / 87% of the
    # fills confidently read as a digit (top / bottom), r = 6 90% / 90%, at ~1.7x the time.
    default_jumps: int = 6
    max_jumps: int = 10
    # RePaint's jump length j (the paper's 10): how far each resampling goes back up.
    jump_length: int = 10
    # Fresh noise in every downward step (η = 1, the ancestral DDPM step RePaint is built on);
    # with η = 0 the fill is a deterministic DDIM path that harmonises worse with the kept part.
    eta: float = 1.0
    # The mask presets (white = to fill): halves and a centre square.
    presets: tuple[str, ...] = ("top", "bottom", "left", "right", "centre")


SCHEDULE = ScheduleLimits()
IMAGES = ImageLimits()
FORWARD = ForwardView()
MODEL = ModelConfig()
REVERSE = ReverseLimits()
GUIDANCE = GuidanceConfig()
INPAINT = InpaintConfig()


@dataclass(frozen=True)
class SketchLimits:
    """A drawn digit read like MNIST (media/sketch.py)."""

    # MNIST: the digit fits in 20×20, centred by mass in 28×28.
    box: int = 20
    size: int = 28
    # A pixel brighter than this (of 1) is part of a stroke.
    stroke_level: float = 0.2
    # A canvas smaller than the model's image has nothing to scale down.
    min_canvas: int = 28
    # Strokes whose bounding box spans less than this fraction of the canvas are a dot, not a digit.
    min_extent: float = 0.08
    # More of the canvas than this covered in stroke: a white canvas, not a drawing.
    max_coverage: float = 0.6
    # The sketchpads' canvas (pixels a side): ten pixels per pixel of the 28×28 digit, big
    # enough to draw with a mouse, small enough to fit a 1280×720 screen's column.
    canvas: int = 280
    # The drawing brush's radius (Gradio's Brush.default_size is a radius) in pixels of the
    # 280×280 canvas: 14 draws 28 px strokes, MNIST's stroke width (~2.5–3 px of its 20) for a
    # digit drawn across the canvas, with as much ink as MNIST's median digits (the former 12,
    # 24 px strokes, was a little thin; half as wide, drawings fell off the data manifold:
    # brought back from t = 500 as themselves 25% of the time against 68%, inpaint_bench.py).
    brush_radius: int = 14


SKETCH = SketchLimits()
