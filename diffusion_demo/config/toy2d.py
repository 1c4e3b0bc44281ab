"""The 2D picture: limits of the tab and the recipe of its small ε-MLPs."""

from __future__ import annotations

from dataclasses import dataclass


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
