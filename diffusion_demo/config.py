"""Settings: defaults and limits, one frozen dataclass per topic.

Every field carries a comment saying *why* it has its value, so that a change is a
decision and not an accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The repository root: assets/ lives next to the package.
ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"

SCHEDULE_NAMES: tuple[str, ...] = ("linear", "scaled_linear", "cosine", "sigmoid")
SAMPLER_NAMES: tuple[str, ...] = ("ddpm", "ddim", "dpmsolver")
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
    # Exported frames (GIF, MP4) are the grid upscaled to this width; the UI streams
    # native-size PNGs (~0.3 KB a digit) and the browser upscales them.
    frame_width: int = 256
    # Frames kept for the replay scrubber: bounded memory whatever the step count.
    max_replay_frames: int = 200


@dataclass(frozen=True)
class GuidanceConfig:
    # Classifier-free guidance weight w (Ho & Salimans 2022; diffusers' guidance_scale):
    # 0 = the unconditional model, 1 = the plain conditional one. Measured (model card, DDIM-50,
    # 500 samples): w = 1 gives 95% confident digits, Fréchet 0.62x real-vs-real, one UNet pass;
    # this small model overshoots above it (w = 1.25: 90%, w = 2: ~70% and wrong digits).
    default_w: float = 1.0
    # Beyond ~8 samples saturate into blotchy, over-contrasted strokes: nothing left to teach.
    max_w: float = 8.0
    # Guidance interval (Kynkäänniemi et al. 2024): w applies for diffusers timesteps in
    # [lo, hi]; outside it the plain conditional pass (w = 1) runs, one UNet pass not two.
    # The full range by default (measured in the model card).
    interval: tuple[int, int] = (0, 999)
    # The row of grids of "same seed, several w": unconditional, halfway, conditional, overshot.
    compare_ws: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)


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
    default_jumps: int = 3
    max_jumps: int = 10
    # RePaint's jump length j (the paper's 10): how far each resampling goes back up.
    jump_length: int = 10
    # Fresh noise in every downward step (η = 1, the ancestral DDPM step RePaint is built on);
    # with η = 0 the fill is a deterministic DDIM path that harmonises worse with the kept part.
    eta: float = 1.0
    # The mask presets (white = to fill): halves and a centre square.
    presets: tuple[str, ...] = ("top", "bottom", "left", "right", "centre")


@dataclass(frozen=True)
class TrainConfig:
    # Seedable and reproducible: the shipped checkpoint was trained with this seed.
    seed: int = 0
    # ~0.4 s/step on 2 idle cores (bf16 autocast), under an hour: the budget is two.
    # The unconditional recipe moved only 85.2% -> 85.8% confident from 7000 to 9000 steps.
    steps: int = 8000
    # Small batches give more updates per CPU second; 64 was the best trade here.
    batch_size: int = 64
    # Peak learning rate (AdamW) after warm-up, cosine-decayed to lr_min. 2e-3 (the first
    # recipe) is at the edge of stable for Adam on this UNet; 1e-3 with min-SNR weighting.
    lr: float = 1e-3
    lr_min: float = 5e-5
    warmup_steps: int = 200
    # EMA of the weights is what ships: it smooths the last steps' noise. (With diffusers'
    # warm-up, min(decay, (1 + step) / (10 + step)), any decay >= 0.999 acts as 0.9989 by step 8000.)
    ema_decay: float = 0.9995
    # Further EMAs kept in the training state; the warm-up above made them equal the main one
    # in the shipped run, so they measured nothing (model card).
    extra_ema_decays: tuple[float, ...] = ()
    # Save a resumable checkpoint (and export the EMA folder) this often.
    checkpoint_every: int = 500
    # Held-out digits per class: never trained on; used for the copying check.
    holdout_per_class: int = 50
    # UNet widths per resolution (28, 14, 7): 96 at 7x7 (0.46 GFLOP per image per step, +22%
    # over the unconditional model's 0.38; +16% step time, within the 30%).
    block_out_channels: tuple[int, ...] = (32, 64, 96)
    # Attention only at 7x7 where it is cheap (49 tokens); at 14x14 it doubled the step time.
    down_block_types: tuple[str, ...] = ("DownBlock2D", "DownBlock2D", "AttnDownBlock2D")
    up_block_types: tuple[str, ...] = ("AttnUpBlock2D", "UpBlock2D", "UpBlock2D")
    # One resnet per level keeps the per-step Python overhead low for live sampling.
    layers_per_block: int = 1
    # 8 groups divide every width above.
    norm_num_groups: int = 8
    # bf16 autocast uses the CPU's AMX units where present; the loss stays fp32.
    bf16: bool = True
    # Labels 0-9 plus the null label 10 (classifier-free guidance, Ho & Salimans 2022).
    num_class_embeds: int = 11
    # The fraction of examples trained with the null label: the same network is then the
    # unconditional model too. The paper found 0.1-0.2 best.
    p_uncond: float = 0.15
    # Min-SNR-gamma loss weighting (Hang et al. 2023): min(SNR, gamma) / SNR for epsilon
    # prediction; stops the nearly-clean timesteps from dominating the gradient (their paper:
    # ~3x faster convergence). 0 turns it off (the plain loss of Ho et al. 2020).
    min_snr_gamma: float = 5.0
    # A second phase after `steps`: the null label for half the examples, so that the
    # unconditional branch gets more of the updates (DDIM-50 at w = 0: 77.2% -> 80.2% confident,
    # Fréchet 2.38x -> 1.89x; w = 1 unchanged within the noise), lr cosine from finetune_lr.
    finetune_steps: int = 1500
    finetune_p_uncond: float = 0.5
    finetune_lr: float = 3e-4


SCHEDULE = ScheduleLimits()
IMAGES = ImageLimits()
FORWARD = ForwardView()
MODEL = ModelConfig()
REVERSE = ReverseLimits()
TRAIN = TrainConfig()
GUIDANCE = GuidanceConfig()
INPAINT = InpaintConfig()


@dataclass(frozen=True)
class ClassifierConfig:
    """The digit classifier that judges samples (models/classifier.py, training/classifier.py)."""

    # Seedable: the shipped classifier is reproducible from this seed.
    seed: int = 0
    # ~98% held-out accuracy is reached by then; more epochs only cost CPU time.
    epochs: int = 8
    # Small batches give many updates per epoch on only 4,500 digits.
    batch_size: int = 64
    # Adam's usual 1e-3 doubled: the net is small and batch-normed; cosine-decayed to 0.
    lr: float = 2e-3
    # Random shifts of up to 2 px: generated digits are not centred exactly like MNIST's.
    max_shift: int = 2
    # Conv widths at 28x28 and 14x14: 2 conv blocks are plenty for 28x28 digits.
    widths: tuple[int, int] = (32, 64)
    # Size of the penultimate layer, i.e. of the feature space the Fréchet distance uses:
    # small enough that 500 samples estimate its covariance well (500 > 128).
    features: int = 128
    # Dropout before the last layer keeps the softmax from saturating on the training set.
    dropout: float = 0.3


CLASSIFIER = ClassifierConfig()


# --- forward and schedule tabs (media/forward_views.py, ui/tabs/forward.py, ui/tabs/schedule.py) ---


@dataclass(frozen=True)
class ForwardTab:
    # A photo, not a digit: students recognise a landscape dissolving into noise at a glance.
    example: str = "photo-landscape"
    # A quarter of the linear schedule's T = 1000: image and noise both still plainly visible.
    t: int = 250
    # Seed 0: the page and every deep link without a seed show the same ε.
    seed: int = 0


@dataclass(frozen=True)
class ScheduleTab:
    # The T → ∞ table: ᾱ_T for these T (and the current one), from "barely noisy" to the max_T limit.
    t_limit_steps: tuple[int, ...] = (10, 100, 1000, 4000)


FORWARD_TAB = ForwardTab()
SCHEDULE_TAB = ScheduleTab()


# --------------------------------------------------------------------------------------
# The 2D picture (toy2d): limits of the tab and the recipe of its small ε-MLPs


# --------------------------------------------------------------------------------------
# UI runtime and deep links (ui/runtime.py, ui/common.py, ui/deeplinks/)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toy2DLimits:
    # Points in every cloud shown: enough to see the shape, few enough that a scatter draws
    # in tens of ms and the 1000-step reverse chain of the MLP takes ~1-3 s (once: cached).
    n_points: int = 1000
    # A custom set is typed by hand: a few to a few dozen points is the idea. 200 keeps the
    # text box readable and the nearest-neighbour checks instant; more is a data set to upload.
    max_custom_points: int = 200
    # Refuse absurd pastes before parsing them (200 lines of "x, y" fit in ~6000 characters).
    max_custom_chars: int = 10_000
    # Custom coordinates are rescaled to unit spread; beyond this the rescaling would lose
    # the small points to float32 rounding (and squares would overflow).
    max_abs_coord: float = 1e6
    # Trajectories drawn at once: more than ~a dozen lines are a tangle, not a picture.
    max_paths: int = 12
    # A few paths show the idea without hiding the cloud.
    default_paths: int = 4
    # Same seed range as the rest of the app (torch.Generator.manual_seed, easy to type).
    max_seed: int = 2**32 - 1


@dataclass(frozen=True)
class Toy2DTrainConfig:
    # Seedable: the shipped weights were trained with this seed (and retraining the same
    # data on the same schedule gives the same model, so the app can memoise it).
    seed: int = 0
    # Optimiser steps: ~2.3 ms each on one CPU core, so ~12 s in all; 5000 steps give clean
    # moons / rings / swiss roll (2500 left stray points between the rings).
    steps: int = 5000
    # Points per step: a step is overhead-bound at this size, so 256 buys more steps per
    # second than 512 for the same final quality.
    batch_size: int = 256
    # AdamW, cosine-decayed from lr to lr_min: the small final steps settle the weights
    # (no EMA copy needed at this size).
    lr: float = 3e-3
    lr_min: float = 1e-5
    # MLP width and number of residual blocks: ~36k parameters, ~146 KB in float32; 128 wide
    # sampled no better in a quick trial and made each reverse step ~1.5-2x slower.
    hidden: int = 64
    blocks: int = 3
    # Sinusoidal t-embedding size (diffusers' get_timestep_embedding, as in the UNet).
    temb_dim: int = 32
    # Fourier features of x (sin/cos at a few frequencies) let a small MLP draw thin curves.
    fourier_freqs: int = 6
    # Hard wall-clock cap: on-demand training must finish within ~30 s even on a busy CPU;
    # when hit, training stops early and says so.
    max_seconds: float = 30.0
    # Built-in sets train on a fixed pool of fresh samples: a dense cover of the curve.
    pool: int = 20_000


# The schedule the shipped MLPs were trained with (name, beta_start, beta_end, T): the app's
# default (Ho et al. 2020, section 4: linear beta 1e-4 -> 0.02, T = 1000), so that out of the
# box the forward view (the panel) and the reverse view (the model) use the same schedule.
# With data of unit spread alpha_bar_T ~ 4e-5: x_T really is N(0, I). Samples are clean with
# it (see assets/toy2d/README.md); other schedules are trained on demand in the tab.
# toy2d.TRAINED_SPEC is this as a ScheduleSpec (config imports nothing of the package).
TOY2D_TRAINED_SCHEDULE: tuple[str, float, float, int] = ("linear", 1e-4, 0.02, 1000)

TOY2D_LIMITS = Toy2DLimits()
TRAIN2D = Toy2DTrainConfig()


# --- exports and downloads (media/export.py, media/chains.py, media/downloads.py, cli/export.py) ---


@dataclass(frozen=True)
class ExportSettings:
    # 10 frames per second: 40 frames play in 4 s, slow enough to follow one step.
    fps: float = 10.0
    # Browsers and players clamp GIF frame delays below 20 ms (50 fps); refuse more.
    max_fps: float = 50.0
    # Seconds the last frame stays up before the GIF/MP4 loops: the result deserves a look.
    hold_last_s: float = 1.0
    # A PNG strip wraps after this many frames: 10 fit a slide's width.
    strip_per_row: int = 10
    # Frames of a reverse chain (one per step up to this, else evenly spaced): bounded
    # memory and file size whatever the step count.
    max_frames: int = 100
    # ... but a PNG strip of a reverse chain / round trip is a figure: this many frames.
    strip_frames: int = 10
    # Digits are 28 px: show each pixel as a 4x4 block so the frames are legible.
    digit_scale: int = 4
    # The forward chain's frames: the longer side of the input image is resized to this.
    forward_size: int = 256
    # A caption band ("t = 500") under each frame, in pixels; 0 turns the captions off.
    caption_px: int = 14
    # CRF-like quality of imageio-ffmpeg (0-10): 8 keeps digit edges crisp at small sizes.
    mp4_quality: float = 8.0
    # `export toy2d`: the 2D figures play a little faster than digit chains (the tab's GIF).
    toy2d_fps: float = 12.0


@dataclass(frozen=True)
class DownloadSettings:
    # Forward chain: 40 frames play in 4 s at export's 10 fps (the CLI's default too).
    forward_frames: int = 40
    # ... and a PNG strip is a figure for a slide: one row of 10 (x_0 … x_T).
    forward_strip_frames: int = 10
    # Round trip: frames of the way back at most (plus x_0 and x_t): bounded file size.
    roundtrip_frames: int = 60
    # The 2D animation: frames each way (forward, then reverse), as the tab's own GIF.
    toy2d_frames: int = 24
    toy2d_fps: float = 12.0
    # Our per-call folders are deleted after this long: Gradio has copied the file by then
    # (it copies as soon as the event returns).
    keep_s: float = 300.0


EXPORT = ExportSettings()
DOWNLOADS = DownloadSettings()


@dataclass(frozen=True)
class QueueConfig:
    # Every event that runs seconds of torch work (chains, 2D training, exports) shares one
    # worker: torch already keeps both cores busy, so two such jobs would only slow each other.
    heavy_id: str = "heavy"
    heavy_limit: int = 1
    # Gradio's queue looks for new jobs every 1 ms and for progress every 10 ms; each wake-up
    # takes the GIL from torch (DDIM-50: 1.70 s instead of 1.37 s). While a heavy job runs it
    # polls every 5 ms and 50 ms (a job still starts within 5 ms, a bar moves 20 times a
    # second); idle it keeps 1 ms, which /forward's latency needs. (idle, busy) seconds.
    queue_poll_s: tuple[float, float] = (0.001, 0.005)
    progress_poll_s: tuple[float, float] = (0.01, 0.05)
    # Trailing parameters (with defaults) added to an endpoint after scripts were written
    # against it: an old, shorter raw HTTP call gets their defaults, as gradio_client does.
    # (api_name, how many trailing inputs may be left out).
    added_later: tuple[tuple[str, int], ...] = (("reverse", 2), ("compare", 2))


@dataclass(frozen=True)
class DeepLinkLimits:
    # Longer query values are refused unread: no link a person writes needs more.
    max_value_chars: int = 200
    # One toast lists at most this many problems ("; and N more"), not a wall of text.
    max_warnings_shown: int = 6
    # A value quoted in a warning is cut to this many characters (with "…").
    max_quoted_chars: int = 40


QUEUE = QueueConfig()
DEEPLINKS = DeepLinkLimits()
