"""Input checks shared by every entry point (UI handlers, API, CLI, deep links).

Each returns the value in its proper type or raises ValueError with a message a user can
act on: the field's name, what was expected and what came instead. The UI shows it as a
note, the API returns it as a clean error, the CLI exits with code 2 and prints it.

May import: libraries only (config, diffusion and everything above call it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def finite(value: object, name: str) -> float:
    """`value` as a finite float."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    return v


def whole(value: object, name: str) -> int:
    """`value` as an int, if it is a finite whole number (7.0 is accepted as 7)."""
    v = finite(value, name)
    if v != int(v):
        raise ValueError(f"{name} must be a whole number; got {value!r}.")
    return int(v)


def number(value: object, name: str, lo: float, hi: float, integer: bool = False) -> float:
    """`value` as a number in [lo, hi] (an int if `integer`)."""
    kind = "a whole number" if integer else "a number"
    lo_text, hi_text = (
        (f"{lo:d}", f"{hi:d}")
        if integer and isinstance(lo, int) and isinstance(hi, int)
        else (f"{lo:g}", f"{hi:g}")
    )
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or not lo <= v <= hi or (integer and v != int(v)):
        raise ValueError(f"{name} must be {kind} in [{lo_text}, {hi_text}]; got {value!r}.")
    return int(v) if integer else v


def in_range(value: object, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi]: a timestep, a seed, a count."""
    return int(number(value, name, lo, hi, integer=True))


def choice(value: object, what: str, options: Iterable[str]) -> str:
    """One of `options` (exact match)."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"Unknown {what} {value!r}: expected one of {', '.join(options)}.")
    return value
