"""The reverse Markov chain p_θ(x_{t-1} | x_t), as a plain generator of step records.

The UI, the CLI, the benchmark and the tests all consume the same generator and decide
for themselves what to keep; the update rule itself is the diffusers scheduler's `step`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..checks import number
from ..config import DIGIT_CHOICES, GUIDANCE, REVERSE, SAMPLER_NAMES
from .schedules import scheduler_class

SAMPLER_LABELS = {
    "ddpm": "DDPM (ancestral)",
    "ddim": "DDIM (η controls noise)",
    "dpmsolver": "DPM-Solver++ (2nd order)",
}


@dataclass(frozen=True)
class StepRecord:
    """One step of the reverse chain."""

    index: int  # 0-based step number within this run
    num_steps: int  # steps in this run
    t: int  # the diffusers timestep the network was evaluated at (0 … T-1)
    prev_t: int  # the timestep the step lands on (-1: the final step, to x_0)
    x_t: torch.Tensor  # the sample the network saw at t
    eps_hat: torch.Tensor  # ε_θ(x_t, t), the predicted noise
    pred_original_sample: torch.Tensor  # x̂_0, the network's current guess of the clean image
    prev_sample: torch.Tensor  # the next state of the chain (x_{t-1} or the next spaced step)
    # With a class-conditional model: ε_θ(x_t, t, y) and ε_θ(x_t, t, ∅) when they were computed
    # (w = 1 needs only the first, w = 0 only the second), and the labels y.
    eps_cond: torch.Tensor | None = None
    eps_uncond: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    guidance: float = 1.0  # the w used at this step (1 outside the guidance interval)


@dataclass(frozen=True)
class ReverseRequest:
    """A validated request: what every entry point (UI, API, CLI) passes on."""

    sampler: str = "ddim"
    steps: int = REVERSE.default_steps
    num_samples: int = REVERSE.default_samples
    seed: int = 0
    eta: float = 0.0
    # With a class-conditional model: which digits (config.DIGIT_CHOICES) and the guidance
    # weight w. An unconditional model ignores both.
    digit: str = "any"
    guidance: float = GUIDANCE.default_w
    guidance_interval: tuple[int, int] = GUIDANCE.interval


def validate_request(
    sampler: str,
    steps: object,
    num_samples: object,
    seed: object,
    eta: object = 0.0,
    max_samples: int = REVERSE.max_samples,
    T: int = REVERSE.max_steps,
    digit: object = "any",
    guidance: object = GUIDANCE.default_w,
) -> ReverseRequest:
    """Check user input; raise ValueError naming the field and its allowed range."""
    if sampler not in SAMPLER_NAMES:
        raise ValueError(f"Unknown sampler {sampler!r}: expected one of {', '.join(SAMPLER_NAMES)}.")
    return ReverseRequest(
        sampler=sampler,
        steps=int(number(steps, "steps", 1, T, True)),
        num_samples=int(number(num_samples, "num_samples", 1, max_samples, True)),
        seed=int(number(seed, "seed", 0, 2**32 - 1, True)),
        eta=float(number(eta, "eta", 0.0, 1.0, False)),
        digit=validate_digit(digit),
        guidance=float(number(guidance, "guidance", 0.0, GUIDANCE.max_w, False)),
    )


def validate_digit(digit: object) -> str:
    """ "any", "0" … "9" or "each" (an int 0 … 9 is taken as its string)."""
    if isinstance(digit, int) and not isinstance(digit, bool) and 0 <= digit <= 9:
        digit = str(digit)
    if not isinstance(digit, str) or digit not in DIGIT_CHOICES:
        raise ValueError(f"Unknown digit {digit!r}: expected one of {', '.join(DIGIT_CHOICES)}.")
    return digit


def class_labels(digit: str, n: int, seed: int) -> torch.Tensor:
    """The label y of each of n samples: "any" draws them from the seed (independently of
    x_T), "each" cycles 0 … 9 across the grid, a digit gives it to all."""
    if digit == "any":
        return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(int(seed) + 2))
    if digit == "each":
        return torch.arange(n) % 10
    return torch.full((n,), int(validate_digit(digit)))


def guidance_at(request: ReverseRequest, t: int) -> float:
    """w inside the guidance interval (Kynkäänniemi et al. 2024), the plain conditional 1 outside."""
    lo, hi = request.guidance_interval
    return request.guidance if lo <= t <= hi else min(request.guidance, 1.0)


def guided_eps(
    denoiser, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None, w: float
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Classifier-free guidance (Ho & Salimans 2022, eq. 6): ε̂ = ε̂_∅ + w (ε̂_y − ε̂_∅).

    Returns (ε̂, ε̂_y or None, ε̂_∅ or None). w = 0 is one pass with the null label (the
    unconditional model), w = 1 one pass with y; otherwise [x, x] with [y, ∅] go through the
    UNet as one batch. `labels` None: an unconditional model, ε_θ(x_t, t).
    """
    if labels is None:
        return denoiser.eps(x, t), None, None
    null = torch.full_like(labels, denoiser.null_label)
    if w == 0:
        eps_u = denoiser.eps(x, t, null)
        return eps_u, None, eps_u
    if w == 1:
        eps_c = denoiser.eps(x, t, labels)
        return eps_c, eps_c, None
    eps_c, eps_u = denoiser.eps(torch.cat([x, x]), t, torch.cat([labels, null])).chunk(2)
    return eps_u + w * (eps_c - eps_u), eps_c, eps_u


def is_conditional(denoiser) -> bool:
    """Whether the denoiser takes class labels (a UNet trained with num_class_embeds)."""
    return getattr(denoiser, "null_label", None) is not None


def make_scheduler(scheduler_config: dict, sampler: str, steps: int):
    """A fresh scheduler for one request (schedulers hold state), with its timesteps set."""
    extra = {"algorithm_type": "dpmsolver++", "solver_order": 2} if sampler == "dpmsolver" else {}
    scheduler = scheduler_class(sampler).from_config(scheduler_config, **extra)
    scheduler.set_timesteps(steps)
    return scheduler


def initial_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """x_T ~ N(0, I), reproducible from the seed."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed)))


def reverse_chain(
    denoiser,
    request: ReverseRequest,
    x_start: torch.Tensor | None = None,
    start_t: int | None = None,
) -> Iterator[StepRecord]:
    """Run p_θ from x_T (or from `x_start` at diffusers timestep `start_t`) down to x_0.

    Yields one StepRecord per network evaluation. Closing the generator (Stop in the UI)
    ends the loop at the next yield, i.e. within one step.
    """
    if not is_conditional(denoiser) and request.digit != "any":
        raise ValueError(
            f"digit {request.digit!r} needs the class-conditional model; this checkpoint is unconditional "
            "(expected one of: any)."
        )
    # 1. one scheduler for this request, and the timesteps it will visit
    scheduler = make_scheduler(denoiser.scheduler_config, request.sampler, request.steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    if start_t is not None:
        timesteps = [t for t in timesteps if t <= start_t]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(len(scheduler.timesteps) - len(timesteps))
    alpha_bar = scheduler.alphas_cumprod.to(torch.float32)
    gen = torch.Generator().manual_seed(request.seed)
    # 2. x_T ~ N(0, I), or the given partly-noised sample (the round trip)
    x = (
        initial_noise((request.num_samples, *denoiser.sample_shape), request.seed)
        if x_start is None
        else x_start
    )
    gen.manual_seed(request.seed + 1)  # the per-step noise z is independent of x_T
    kwargs = {"eta": request.eta} if request.sampler == "ddim" else {}
    # 3. the labels y (a conditional model only), drawn from the seed for "any"
    labels = class_labels(request.digit, len(x), request.seed) if is_conditional(denoiser) else None
    for i, t in enumerate(timesteps):
        w = guidance_at(request, t)
        with torch.inference_mode():
            # 4. ε_θ(x_t, t), guided towards y when w > 1: the only learned part of the process
            eps, eps_c, eps_u = guided_eps(denoiser, x, torch.tensor(t), labels, w)
            eps = eps.to(x.device)
            # 5. the sampler's update (eq. 11 of Ho et al. 2020 for DDPM, eq. 12 of Song et al. 2021 for DDIM)
            out = scheduler.step(eps, t, x, generator=gen, **kwargs)
            x0_hat = getattr(out, "pred_original_sample", None)
            if x0_hat is None:
                # eq. 15 of Ho et al. 2020 inverted: x̂_0 = (x_t - sqrt(1 - alpha_bar_t) ε̂) / sqrt(alpha_bar_t)
                ab = alpha_bar[t]
                x0_hat = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        prev_t = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        yield StepRecord(
            i, len(timesteps), t, prev_t, x, eps, x0_hat, out.prev_sample, eps_c, eps_u, labels, w
        )
        x = out.prev_sample


def sample(denoiser, request: ReverseRequest) -> torch.Tensor:
    """Run the whole chain and return x_0, shape (N, C, H, W), in [-1, 1]."""
    x = None
    for record in reverse_chain(denoiser, request):
        x = record.prev_sample
    return x.clamp(-1, 1)
