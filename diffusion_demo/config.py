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


# --- Evaluation: sample-quality targets and sizes (training/evaluate.py, cli/evaluate.py) ---


@dataclass(frozen=True)
class Targets:
    """What a good sample set scores (cli/evaluate.py checks a run against one of these)."""

    # "Confident" means the classifier gives the top digit at least this probability.
    confidence: float = 0.8
    # Good samples are recognisable digits: at least 90% of them confident.
    min_confident: float = 0.90
    # Mode collapse shows as missing digits: each of the 10 must be >= 4% (uniform is 10%).
    min_class_fraction: float = 0.04
    # FD grows with blur and artefacts; within 3x of real-vs-real is "looks like the data".
    max_fd_ratio: float = 3.0
    # A model that copies its training digits has NN ratio near 0; unseen real digits ~1.
    min_nn_ratio: float = 0.6
    # A steered run: the classifier must read each sample as the digit asked for (every digit).
    min_label_accuracy: float = 0.97


@dataclass(frozen=True)
class EvalSettings:
    """How much to generate and score in an evaluation and in the steps-vs-quality sweep."""

    # 500 samples: 50 per digit on average, enough for a 128-d covariance and a stable
    # histogram; DDIM-50 costs a couple of minutes on 2 CPU cores, DDPM-1000 ~20x that.
    num_samples: int = 500
    # 64 images per UNet call: per-image cost stops falling beyond that on a CPU, and the
    # memory stays small (64 x 784 floats per state).
    batch_size: int = 64
    # Subsampling the held-out digits for the baseline is seeded: reruns compare equal.
    reference_seed: int = 0
    # The steps-vs-quality sweep (the reverse tab's chart): the step counts, per sampler.
    # DDIM and DPM-Solver++ have converged by 250 steps; DDPM needs its 1000.
    sweep_steps: tuple[int, ...] = (10, 20, 50, 100, 250, 1000)
    sweep_max_steps: tuple[tuple[str, int], ...] = (("ddpm", 1000), ("ddim", 250), ("dpmsolver", 250))
    # Samples per point of the sweep: 40 points, so fewer than the 500 of a full evaluation.
    sweep_samples: int = 200


# The reverse-chain issue's targets: an unconditional model, or a --samples file.
TARGETS = Targets()
# The guidance issue's targets: the default settings (guided, digit "any") must beat real
# held-out digits (96.4% confident) with every digit >= 7%, close to the data (FD <= 2x) and
# not copies (NN >= 0.8); the unconditional model (w = 0) >= 92% confident, FD <= 2x.
GUIDED_TARGETS = Targets(min_confident=0.97, min_class_fraction=0.07, max_fd_ratio=2.0, min_nn_ratio=0.8)
UNCONDITIONAL_TARGETS = Targets(min_confident=0.92, max_fd_ratio=2.0)
EVAL = EvalSettings()
