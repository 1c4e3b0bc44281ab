"""The reverse Markov chain p_θ(x_{t-1} | x_t), as a plain generator of step records.

The UI, the CLI, the benchmark and the tests all consume the same generator and decide
for themselves what to keep. The update rule is the diffusers scheduler's `step`, driven
through its protocol (`init_noise_sigma`, `scale_model_input`, `step`), so every sampler of
`samplers/` runs here; each record carries the numbers its sampler used.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..checks import number
from ..config import DIGIT_CHOICES, GUIDANCE, REVERSE
from . import samplers
from .samplers.base import SamplerNumbers, Step, alpha_bar_of


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
    numbers: SamplerNumbers | None = None  # ᾱ (σ) at both ends and the update's coefficients
    stage: int = 1  # 2: the second network call of a 2nd-order step (Heun's corrector)


@dataclass(frozen=True)
class ReverseRequest:
    """A validated request: what every entry point (UI, API, CLI) passes on."""

    sampler: str = samplers.DEFAULT_SAMPLER
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
    chosen = samplers.get(sampler)
    eta = float(number(eta, "eta", 0.0, 1.0, False))
    if eta and not chosen.uses_eta:
        with_eta = [s.id for s in samplers.SAMPLERS.values() if s.uses_eta]
        raise ValueError(
            f"eta = {eta:g} does not apply to sampler {chosen.id!r} (η is DDIM's noise dial): "
            f"expected eta = 0, or a sampler of {', '.join(with_eta)}."
        )
    # a multistep-free 2nd-order step needs two evaluations: one step is all a sampler may get
    # out of T evaluations at most (Heun at T steps would ask for 2T - 1 network calls)
    most = T // chosen.evals_per_step if chosen.evals_per_step > 1 else T
    return ReverseRequest(
        sampler=chosen.id,
        steps=int(number(steps, "steps", 1, most, True)),
        num_samples=int(number(num_samples, "num_samples", 1, max_samples, True)),
        seed=int(number(seed, "seed", 0, 2**32 - 1, True)),
        eta=eta,
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
    """A fresh scheduler of `sampler` for one request (schedulers hold state), timesteps set."""
    return samplers.get(sampler).make_scheduler(scheduler_config, steps)


def initial_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """x_T ~ N(0, I), reproducible from the seed."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed)))


def reverse_chain(
    denoiser,
    request: ReverseRequest,
    x_start: torch.Tensor | None = None,
    start_t: int | None = None,
) -> Iterator[StepRecord]:
    """Run p_θ from x_T (or from `x_start`, an x_t, at diffusers timestep `start_t`) to x_0.

    Yields one StepRecord per network evaluation (Heun: two a step). A record's x_t and
    next sample are x_t as DDPM writes it, whichever variable the sampler steps in (x_σ =
    x_t / sqrt(ᾱ) for Euler and Heun). Closing the generator (Stop) ends the loop at the
    next yield, i.e. within one network evaluation.
    """
    if not is_conditional(denoiser) and request.digit != "any":
        raise ValueError(
            f"digit {request.digit!r} needs the class-conditional model; this checkpoint is unconditional "
            "(expected one of: any)."
        )
    # 1. one scheduler for this request, and the evaluations it will make
    sampler = samplers.get(request.sampler)
    scheduler, begin = _scheduler(denoiser, request, sampler, start_t)
    timesteps = scheduler.timesteps
    gen = torch.Generator().manual_seed(request.seed)
    # 2. x_T ~ N(0, I) in the sampler's variable (init_noise_sigma), or the given x_t (round trip)
    if x_start is None:
        x = (
            initial_noise((request.num_samples, *denoiser.sample_shape), request.seed)
            * scheduler.init_noise_sigma
        )
    else:
        x = x_start * _to_own_variable(scheduler, sampler, begin)
    gen.manual_seed(request.seed + 1)  # the per-step noise z is independent of x_T
    kwargs = {"eta": request.eta} if sampler.uses_eta else {}
    if "generator" in inspect.signature(scheduler.step).parameters:  # the SDE samplers' z
        kwargs["generator"] = gen
    # 3. the labels y (a conditional model only), drawn from the seed for "any"
    labels = class_labels(request.digit, len(x), request.seed) if is_conditional(denoiser) else None
    last_t = None
    for i in range(begin, len(timesteps)):
        t = int(round(float(timesteps[i])))  # the network's timestep (every sampler here visits whole ones)
        prev_t = int(round(float(timesteps[i + 1]))) if i + 1 < len(timesteps) else -1
        stage = 1 if getattr(scheduler, "state_in_first_order", True) else 2
        step = Step(i, t, prev_t, request.eta, stage, i - begin, last_t, i == len(timesteps) - 1)
        numbers = sampler.numbers(scheduler, step)
        w = guidance_at(request, t)
        with torch.inference_mode():
            # 4. ε_θ(x_t, t), guided towards y when w > 1: the only learned part of the process
            x_in = scheduler.scale_model_input(x, timesteps[i])  # x_t, whatever the sampler's variable
            eps, eps_c, eps_u = guided_eps(denoiser, x_in, torch.tensor(t), labels, w)
            eps = eps.to(x.device)
            # 5. the sampler's update (its module cites the equation): diffusers' step
            at = timesteps[i] if timesteps.is_floating_point() else t
            out = scheduler.step(eps, at, x, **kwargs)
            x0_hat = getattr(out, "pred_original_sample", None)
            if x0_hat is None:
                # eq. 15 of Ho et al. 2020 inverted: x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t)
                ab = torch.tensor(_alpha_bar_in(scheduler, i, t))
                x0_hat = ((x_in - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            x_next = out.prev_sample / _to_own_variable(scheduler, sampler, i + 1)
        yield StepRecord(
            i - begin,
            len(timesteps) - begin,
            t,
            t if stage == 2 else prev_t,
            x_in,
            eps,
            x0_hat,
            x_next,
            eps_c,
            eps_u,
            labels,
            w,
            numbers,
            stage,
        )
        x, last_t = out.prev_sample, t


def _scheduler(denoiser, request: ReverseRequest, sampler: samplers.Sampler, start_t: int | None):
    """The request's scheduler, and the index of its first evaluation at or below `start_t`
    (Heun: a step's first evaluation), from which it is set to begin."""
    scheduler = sampler.make_scheduler(denoiser.scheduler_config, request.steps)
    if start_t is None:
        return scheduler, 0
    begin = next((i for i, t in enumerate(scheduler.timesteps) if t <= start_t), len(scheduler.timesteps))
    begin += begin % sampler.evals_per_step
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(begin)
    return scheduler, begin


def _to_own_variable(scheduler, sampler: samplers.Sampler, index: int) -> float:
    """The factor from x_t to the sampler's variable at `index`: sqrt(σ² + 1) for x_σ, else 1."""
    if not sampler.sigma_space:
        return 1.0
    sigma = float(scheduler.sigmas[index])
    return (sigma * sigma + 1.0) ** 0.5


def _alpha_bar_in(scheduler, index: int, t: int) -> float:
    """ᾱ of the evaluation's input: its alphas_cumprod at t, or from its σ on Karras spacing
    (whose σ lie between those of whole timesteps)."""
    if scheduler.config.get("use_karras_sigmas", False):
        return alpha_bar_of(float(scheduler.sigmas[index]))
    return float(scheduler.alphas_cumprod[t])


def sample(denoiser, request: ReverseRequest) -> torch.Tensor:
    """Run the whole chain and return x_0, shape (N, C, H, W), in [-1, 1]."""
    x = None
    for record in reverse_chain(denoiser, request):
        x = record.prev_sample
    return x.clamp(-1, 1)
