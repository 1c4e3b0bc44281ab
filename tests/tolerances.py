"""Tolerances from the arithmetic, for comparisons of two float32 computations of the same maths.

Batched and solo chains, a compiled and an eager UNet: the same sums in a different order
(other GEMM kernels, other blockings; they differ between CPUs, e.g. Intel with AMX and AMD
without). Neither is exact; each is within its own float32 rounding of the exact result. So
the tolerance is measured, not guessed: the same computation with the UNet in float64 (the
oracle) shows how far float32 rounding moves this result on this machine, and two float32
computations may differ by at most twice that (each within it of the oracle), doubled again
because that distance is itself one draw of the rounding; never below a few units in the last
place of the values (`floor`).
"""

from __future__ import annotations

import copy
import dataclasses

import torch

from diffusion_demo.models.unet import Denoiser

# Two float32 results, each within e of the exact one, differ by at most 2e; × 2 margin.
FACTOR = 4.0
EPS32 = torch.finfo(torch.float32).eps  # 2**-23: one unit in the last place of 1.0


class Float64Denoiser(Denoiser):
    """The same network computed in float64 (ε returned in float32, as the chains expect)."""

    def eps(self, x_t, t, class_labels=None):
        return super().eps(x_t.double(), t, class_labels)


def float64(den: Denoiser) -> Float64Denoiser:
    """A float64 copy of `den` (eager, no autocast): the oracle of the comparisons."""
    fields = {f.name: getattr(den, f.name) for f in dataclasses.fields(den)}
    fields.update(unet=copy.deepcopy(den.unet).double(), autocast=None, compiled=None)
    return Float64Denoiser(**fields)


def floor(reference: torch.Tensor, ops: int = 1) -> float:
    """A few units in the last place of the largest value, per rounded operation in sequence."""
    return FACTOR * ops * EPS32 * max(1.0, float(reference.abs().max()))


def tolerance(float32: torch.Tensor, oracle: torch.Tensor, ops: int = 1) -> float:
    """How far another float32 computation of `float32` may be from it: FACTOR × its distance
    from the float64 `oracle`, at least `floor`."""
    rounding = float((float32.double() - oracle.double()).abs().max())
    return max(FACTOR * rounding, floor(oracle, ops))


def assert_same_within_rounding(got: torch.Tensor, want: torch.Tensor, oracle: torch.Tensor, ops: int = 1):
    """`got` equals the float32 `want` within the rounding the arithmetic allows (see above)."""
    tol = tolerance(want, oracle, ops)
    diff = float((got.double() - want.double()).abs().max())
    assert diff <= tol, (
        f"differ by {diff:.3g}; float32 rounding allows {tol:.3g} (oracle distance ×{FACTOR:g})"
    )
