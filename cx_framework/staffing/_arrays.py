"""Input coercion, validation and output shaping shared by the staffing functions.

Every public staffing function accepts scalars, numpy arrays or pandas Series, broadcasts them against each other
and returns the same kind it was given (a Series keeps the index of the first Series argument).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.errors import InputValueError

__all__ = ["ArrayLike", "broadcast_inputs", "check_scalar", "check_traffic", "UPPER_BOUNDS", "MAX_TRAFFIC"]

ArrayLike = Any  # float | numpy.ndarray | pandas.Series

#: Largest offered load (Erlangs) the staffing models accept: ten million agents busy at once, far beyond any
#: real operation, and where the log-space Erlang formulas and the integer agent search are still exact in
#: float64 (beyond ~1e15 whole numbers of agents are no longer representable and the search cannot end).
MAX_TRAFFIC: float = 1e7

#: Upper bounds of the array arguments (same reasoning): a value above is a unit mistake or a corrupt cell.
UPPER_BOUNDS: dict[str, tuple[float, str]] = {
    "traffic": (MAX_TRAFFIC, "Erlangs"),
    "agents": (1e9, "agents"),
    "calls": (1e12, "calls per interval"),
    "aht_s": (1e7, "seconds (about 116 days)"),
    # beyond this Erlang A is Erlang C to machine precision, and the quadrature weights underflow
    "patience_s": (1e20, "seconds (pass patience_s=None for callers who never abandon)"),
}


def _where(arr: np.ndarray, mask: np.ndarray, original: Any) -> tuple[Any, str]:
    """First offending position (and, for a Series, its label) as text for the message."""
    flat = int(np.flatnonzero(mask.ravel())[0])
    position: Any = flat if arr.ndim <= 1 else tuple(int(i) for i in np.unravel_index(flat, arr.shape))
    if arr.ndim == 0:
        return None, ""
    label = ""
    if isinstance(original, pd.Series):
        label = f" (index label {original.index[flat]!r})"
    return position, f" at index {position}{label}"


def _first(arr: np.ndarray, mask: np.ndarray) -> str:
    """The first offending value as the user would write it (``-5.0``, not ``np.float64(-5.0)``)."""
    return f"{float(arr.ravel()[np.flatnonzero(mask.ravel())[0]]):g}"


def _validate(name: str, arr: np.ndarray, original: Any, *, positive: bool, integer: bool = False) -> None:
    bad_nan = ~np.isfinite(arr)
    if bad_nan.any():
        index, where = _where(arr, bad_nan, original)
        raise InputValueError(
            f"argument '{name}' must be finite; found {_first(arr, bad_nan)}{where}. "
            "Drop or fill missing values before calling.",
            argument=name,
            index=index,
        )
    bad = arr <= 0 if positive else arr < 0
    if bad.any():
        index, where = _where(arr, bad, original)
        need = "> 0" if positive else ">= 0"
        raise InputValueError(
            f"argument '{name}' must be {need}; found {_first(arr, bad)}{where}.",
            argument=name,
            index=index,
        )
    if name in UPPER_BOUNDS:
        limit, unit = UPPER_BOUNDS[name]
        too_big = arr > limit
        if too_big.any():
            index, where = _where(arr, too_big, original)
            raise InputValueError(
                f"argument '{name}' must be at most {limit:g} {unit}, the largest value the staffing models "
                f"represent exactly; found {_first(arr, too_big)}{where}. Check the unit of the input.",
                argument=name,
                index=index,
            )


def check_traffic(traffic: np.ndarray, calls: Any = None) -> None:
    """Offered load ``calls * aht_s / interval_s`` must stay within :data:`MAX_TRAFFIC` Erlangs."""
    too_big = ~(traffic <= MAX_TRAFFIC)
    if too_big.any():
        index, where = _where(traffic, too_big, calls)
        raise InputValueError(
            f"offered load calls * aht_s / interval_s must be at most {MAX_TRAFFIC:g} Erlangs, the largest load "
            f"the staffing models represent exactly; found {_first(traffic, too_big)}{where}. Check the units "
            "(calls per interval, seconds).",
            argument="calls",
            index=index,
        )


def check_scalar(
    name: str,
    value: float,
    *,
    low: float,
    high: float | None = None,
    open_low: bool = True,
    open_high: bool = True,
) -> float:
    """Validate a scalar option such as ``target`` or ``answer_s`` and return it as float."""
    if isinstance(value, bool | str) or value is None:
        raise InputValueError(
            f"argument '{name}' must be a number; got {type(value).__name__} {str(value)[:40]!r}.",
            argument=name,
        )
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputValueError(
            f"argument '{name}' must be a number; got {type(value).__name__}.", argument=name
        ) from None
    ok = np.isfinite(v) and (v > low if open_low else v >= low)
    if high is not None:
        ok = ok and (v < high if open_high else v <= high)
    if not ok:
        lo_b = "(" if open_low else "["
        hi_b = ")" if open_high else "]"
        rng = f"{lo_b}{low}, {high if high is not None else 'inf'}{hi_b}"
        raise InputValueError(f"argument '{name}' must lie in {rng}; got {value}.", argument=name)
    return v


def broadcast_inputs(
    specs: list[tuple[str, Any, bool]],
) -> tuple[list[np.ndarray], Callable[[np.ndarray], Any]]:
    """Validate and broadcast the array arguments.

    Parameters
    ----------
    specs : list of (name, value, strictly_positive)
        Each argument's name (used in error messages), value and whether it must be > 0 (else >= 0).

    Returns
    -------
    arrays : list of numpy.ndarray
        Float64 arrays broadcast to a common shape.
    wrap : callable
        Turns a result array of that shape back into the caller's kind (float, ndarray or Series).
    """
    arrays = []
    series: pd.Series | None = None
    any_array = False
    for name, value, positive in specs:
        if isinstance(value, pd.Series):
            if series is None:
                series = value
            elif len(value) != len(series) or not value.index.equals(series.index):
                raise InputValueError(
                    f"argument '{name}' is a Series whose index differs from the first Series argument; "
                    "align them (e.g. with .reindex) before calling.",
                    argument=name,
                )
            arr = value.to_numpy(dtype=float, na_value=np.nan)
        else:
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise InputValueError(
                    f"argument '{name}' must be numeric (scalar, array or Series); got {type(value).__name__}.",
                    argument=name,
                ) from None
            any_array = any_array or arr.ndim > 0
        _validate(name, arr, value, positive=positive)
        arrays.append(arr)
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n}{np.shape(a)}" for (n, _, _), a in zip(specs, arrays, strict=True))
        raise InputValueError(
            f"arguments have shapes that cannot be broadcast together: {shapes}.", argument=specs[0][0]
        ) from None

    def wrap(result: np.ndarray) -> Any:
        if series is not None:
            return pd.Series(np.asarray(result).reshape(len(series)), index=series.index, name=None)
        if any_array:
            return np.asarray(result)
        return np.asarray(result).item()

    return arrays, wrap
