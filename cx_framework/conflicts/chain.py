"""Do the departmental SLAs add up to the promise made to the customer? End-to-end SLA chains.

A journey (a billing dispute, an order) passes through stages owned by different departments. Each stage has its
own SLA ("90 % within 5 days") and a lead-time distribution; between stages the item waits in a hand-off queue.
The customer experiences the *sum*: ``E2E = Σ stage lead times + Σ hand-off waits`` (stages independent). Every
stage can meet its own SLA while P(E2E ≤ promise) falls short — "every department green, customer red"
(Seddon 2003, *Freedom from Command and Control*, on end-to-end measures; Reinertsen 2009, *The Principles of
Product Development Flow*, on queues between hand-offs).

The distribution of the sum is computed by numerical convolution on a fine grid (FFT, ``scipy.signal.fftconvolve``):
each component is discretised to point masses at ``i·h`` carrying the probability of the cell
``[(i − ½)h, (i + ½)h)``; the CDF of the sum is read with the matching half-cell continuity correction, so the
error is O(h²). Monte Carlo is available as an option (``method="monte_carlo"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cx_framework.config.models import Journey, Promise
from cx_framework.errors import (
    ConfigError,
    DataValidationError,
    InputValueError,
    ModelError,
    StatisticalWarning,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "SlaChainResult",
    "sla_chain",
    "journey_chain",
    "required_tightening",
    "fit_stage_distributions",
    "fit_stage_distributions_engine",
]

_QUANTILES = (0.5, 0.8, 0.9, 0.95, 0.99)
_DEFAULT_CELLS = 2**16
_TAIL = 1e-12


class _FrozenByName:
    """A scipy.stats frozen distribution kept as its name and parameters, built on first use.

    What an :class:`SlaChainResult` read back from the Analysis' disk cache holds instead of the frozen object:
    unpickling that would import ``scipy.stats`` (~1 s) in every process that only draws the chain's densities and
    probabilities (already on the grid). The same family and parameters give the same distribution, so every
    number computed from it is unchanged.
    """

    __slots__ = ("name", "args", "kwds", "_dist")

    def __init__(self, name: str, args: tuple[Any, ...], kwds: dict[str, Any]) -> None:
        self.name, self.args, self.kwds = name, tuple(args), dict(kwds)
        self._dist: Any = None

    def frozen(self) -> Any:
        if self._dist is None:
            from scipy import stats

            self._dist = getattr(stats, self.name)(*self.args, **self.kwds)
        return self._dist

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute in _FrozenByName.__slots__:
            raise AttributeError(attribute)
        return getattr(self.frozen(), attribute)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_FrozenByName, (self.name, self.args, self.kwds))


def _by_name(dist: Any) -> Any:
    """``dist`` as a :class:`_FrozenByName` when it is a frozen distribution of a ``scipy.stats`` family."""
    if isinstance(dist, _FrozenByName):
        return dist
    family = getattr(dist, "dist", None)
    name = getattr(family, "name", None)
    if not isinstance(name, str) or not hasattr(dist, "args") or not hasattr(dist, "kwds"):
        return dist
    import sys

    stats = sys.modules.get("scipy.stats")  # a frozen distribution was made, so scipy.stats is loaded
    if stats is None or type(getattr(stats, name, None)) is not type(family):
        return dist
    return _FrozenByName(name, dist.args, dist.kwds)


@dataclass(frozen=True)
class _Component:
    name: str
    kind: Literal["stage", "handoff"]
    department: str | None
    dist: Any | None  # scipy frozen distribution (hours)
    samples: np.ndarray | None  # empirical lead times (hours)
    sla_h: float | None
    sla_percent: float | None

    def cdf(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        if self.dist is not None:
            return np.asarray(self.dist.cdf(np.asarray(x) / scale), dtype=float)
        assert self.samples is not None
        s = np.sort(self.samples) * scale
        return np.searchsorted(s, x, side="right") / len(s)

    def upper(self) -> float:
        if self.dist is not None:
            return float(self.dist.ppf(1.0 - _TAIL))
        assert self.samples is not None
        return float(self.samples.max())

    def mean(self) -> float:
        if self.dist is not None:
            return float(self.dist.mean())
        assert self.samples is not None
        return float(np.mean(self.samples))

    def pmf(self, n: int, h: float, scale: float = 1.0) -> np.ndarray:
        """Point masses at ``i·h`` (cell ``[(i−½)h, (i+½)h)``) of the component scaled by ``scale``."""
        if self.dist is not None:
            edges = (np.arange(n + 1) - 0.5) * h
            cdf = self.cdf(np.maximum(edges, 0.0), scale)
            cdf[0] = 0.0
            return np.diff(cdf)
        assert self.samples is not None
        idx = np.clip(np.rint(self.samples * scale / h).astype(np.int64), 0, n - 1)
        return np.bincount(idx, minlength=n)[:n] / len(self.samples)

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.dist is not None:
            return np.asarray(self.dist.rvs(size=size, random_state=rng), dtype=float)
        assert self.samples is not None
        return rng.choice(self.samples, size=size, replace=True)

    def __reduce__(self) -> tuple[Any, ...]:
        # the distribution by name: reading a cached chain back does not import scipy.stats (see _FrozenByName)
        dist = _by_name(self.dist) if self.dist is not None else None
        fields = (self.name, self.kind, self.department, dist, self.samples, self.sla_h, self.sla_percent)
        return (_Component, fields)


@dataclass(frozen=True)
class SlaChainResult:
    """End-to-end view of one journey.

    Attributes
    ----------
    promise_h : float
        The customer promise in hours.
    promise_percent : float or None
        Share (0–1) of journeys that must finish within the promise.
    p_within_promise : float
        P(end-to-end time ≤ promise).
    stages : pandas.DataFrame
        One row per component (stages and hand-off waits) in journey order: ``component, kind`` (stage |
        handoff), ``department, sla_h, sla_percent, p_within_sla`` (P(stage lead time ≤ its own SLA)),
        ``meets_sla, mean_h, share_of_miss`` (E[component · 1{late}] / E[E2E · 1{late}]: the share of the late
        journeys' time spent in this component) and ``contribution_to_miss`` (share_of_miss · P(late); sums to
        P(late)).
    quantiles : pandas.Series
        End-to-end quantiles in hours, indexed by probability.
    density : pandas.DataFrame
        ``hours, density`` (per hour) and ``cdf`` of the end-to-end time, for plotting.
    method : str
        ``"convolution"`` or ``"monte_carlo"``.
    grid_step_h : float
        Grid step of the convolution (hours); histogram bin width for Monte Carlo.
    """

    promise_h: float
    promise_percent: float | None
    p_within_promise: float
    stages: pd.DataFrame
    quantiles: pd.Series
    density: pd.DataFrame
    method: str
    grid_step_h: float
    _components: tuple[_Component, ...] = field(repr=False, default=())

    @property
    def meets_promise(self) -> bool | None:
        """Whether P(E2E ≤ promise) reaches the promised percent (None without a percent)."""
        return None if self.promise_percent is None else bool(self.p_within_promise >= self.promise_percent)

    @property
    def every_stage_green(self) -> bool:
        """All stages that have an SLA meet it (P(≤ SLA) ≥ SLA percent)."""
        rows = self.stages[self.stages["sla_percent"].notna()]
        return bool(rows["meets_sla"].all())

    @property
    def binding_stage(self) -> str:
        """The stage (not hand-off) with the largest contribution to the miss."""
        rows = self.stages[self.stages["kind"] == "stage"]
        return str(rows.loc[rows["contribution_to_miss"].idxmax(), "component"])

    def summary(self) -> str:
        """A short plain-text summary (one line per component)."""
        pct = f" (promise {self.promise_percent:.0%})" if self.promise_percent is not None else ""
        lines = [f"P(end-to-end ≤ {self.promise_h:g} h) = {self.p_within_promise:.1%}{pct}"]
        for r in self.stages.itertuples(index=False):
            own = "" if pd.isna(r.sla_h) else f"P(≤ {r.sla_h:g} h) = {r.p_within_sla:.1%}, "
            lines.append(
                f"  {r.kind:<8} {r.component:<20} {own}mean {r.mean_h:.1f} h, "
                f"contribution to miss {r.contribution_to_miss:.1%}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import html_card

        stages = self.stages[self.stages["kind"].eq("stage")] if "kind" in self.stages else self.stages
        met = stages["meets_sla"].dropna().astype(bool)
        figures = [
            (
                f"P(end-to-end ≤ {self.promise_h:g} h promise)",
                F.format_value(self.p_within_promise, "percent"),
            ),
        ]
        if self.promise_percent is not None:
            figures.append(("Promised share", F.format_value(self.promise_percent, "percent")))
        if len(met):
            figures.append(("Stages meeting their own SLA", F.format_value(float(met.mean()), "percent")))
        if len(stages):
            figures.append(("Stage contributing most to the miss", self.binding_stage))
        verdict = None
        if self.promise_percent is not None and len(met):
            if self.every_stage_green and not self.meets_promise:
                verdict = "Every department is green on its own SLA, yet the customer promise is missed."
            else:
                verdict = "The customer promise is " + ("kept." if self.meets_promise else "missed.")
        table = self.stages[
            [
                c
                for c in (
                    "component",
                    "kind",
                    "department",
                    "sla_h",
                    "p_within_sla",
                    "meets_sla",
                    "mean_h",
                    "contribution_to_miss",
                )
                if c in self.stages
            ]
        ].rename(
            columns={
                "component": "Component",
                "kind": "Kind",
                "department": "Department",
                "sla_h": "SLA (h)",
                "p_within_sla": "P(≤ own SLA)",
                "meets_sla": "Meets SLA",
                "mean_h": "Mean (h)",
                "contribution_to_miss": "Contribution to miss",
            }
        )
        return html_card(
            "SLA chain: stages vs the customer promise",
            text=verdict,
            figures=figures,
            table=table,
            table_title="Stages and hand-offs, in journey order",
            caveats=[
                f"End-to-end distribution by {self.method.replace('_', ' ')} (step {self.grid_step_h:.3g} h)."
            ],
        )

    def plot(self) -> go.Figure:
        """Density of the end-to-end time with the promise line (see ``plots.sla_chain_density``)."""
        from cx_framework.plots.conflicts import sla_chain_density

        return sla_chain_density(self)


# ------------------------------------------------------------------------------------------------ inputs
def _hours(value: float | timedelta, argument: str) -> float:
    hours = value.total_seconds() / 3600.0 if isinstance(value, timedelta) else float(value)
    if not math.isfinite(hours) or hours <= 0:
        raise InputValueError(
            f"{argument} must be a positive number of hours, got {value!r}", argument=argument
        )
    return hours


def _as_component(
    name: str,
    value: Any,
    *,
    kind: Literal["stage", "handoff"],
    argument: str,
    department: str | None = None,
    sla: Any = None,
) -> _Component:
    sla_h: float | None = None
    sla_percent: float | None = None
    if sla is not None:
        if isinstance(sla, tuple | list):
            sla_h, sla_percent = _hours(sla[0], f"slas[{name!r}]"), float(sla[1])
        elif hasattr(sla, "hours") and hasattr(sla, "percent"):
            sla_h, sla_percent = float(sla.hours), float(sla.percent)
        else:
            sla_h = _hours(sla, f"slas[{name!r}]")
    if hasattr(value, "cdf") and hasattr(value, "ppf") and hasattr(value, "rvs"):
        low = float(value.support()[0])
        if low < 0:
            raise InputValueError(
                f"{argument}[{name!r}]: lead-time distribution has negative support ({low}); use a distribution on "
                "[0, inf) such as gamma, lognorm, weibull_min or expon",
                argument=argument,
                index=name,
            )
        return _Component(name, kind, department, value, None, sla_h, sla_percent)
    samples = np.asarray(value, dtype=float).ravel()
    if samples.size == 0 or not np.isfinite(samples).all() or (samples < 0).any():
        raise InputValueError(
            f"{argument}[{name!r}]: samples must be a non-empty array of finite lead times >= 0 hours",
            argument=argument,
            index=name,
        )
    return _Component(name, kind, department, None, samples, sla_h, sla_percent)


def _components(
    stages: Mapping[str, Any] | Sequence[Any],
    handoffs: Mapping[str, Any] | None,
    slas: Mapping[str, Any] | None,
    departments: Mapping[str, str] | None,
) -> tuple[_Component, ...]:
    if isinstance(stages, Mapping):
        items = list(stages.items())
    else:
        items = [(f"stage_{i + 1}", s) for i, s in enumerate(stages)]
    if not items:
        raise InputValueError("stages is empty; pass at least one stage lead time", argument="stages")
    names = [n for n, _ in items]
    for arg, mapping in (("handoffs", handoffs), ("slas", slas), ("departments", departments)):
        unknown = sorted(set(mapping or {}) - set(names))
        if unknown:
            raise InputValueError(
                f"{arg} names unknown stage(s) {', '.join(map(str, unknown))}; stages are {', '.join(names)}",
                argument=arg,
            )
    out: list[_Component] = []
    for name, value in items:
        dept = (departments or {}).get(name)
        if handoffs and name in handoffs and handoffs[name] is not None:
            out.append(
                _as_component(
                    f"{name} (hand-off)", handoffs[name], kind="handoff", argument="handoffs", department=dept
                )
            )
        out.append(
            _as_component(
                name, value, kind="stage", argument="stages", department=dept, sla=(slas or {}).get(name)
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------------------ grid maths
def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy import signal

    out = signal.fftconvolve(a, b)[: len(a)]
    return np.clip(out, 0.0, None)


def _cell_cdf(pmf: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges ``(i − ½)h`` and the CDF of a grid distribution at those edges (starts at 0)."""
    edges = (np.arange(len(pmf) + 1) - 0.5) * h
    return edges, np.concatenate([[0.0], np.cumsum(pmf)])


def _cdf_at(pmf: np.ndarray, h: float, x: np.ndarray | float) -> np.ndarray:
    """CDF of a grid distribution at x with the half-cell continuity correction (linear within a cell)."""
    edges, cum = _cell_cdf(pmf, h)
    return np.interp(x, edges, cum, left=0.0, right=float(cum[-1]))


def _leave_one_out(pmfs: list[np.ndarray]) -> list[np.ndarray]:
    n = len(pmfs[0])
    delta = np.zeros(n)
    delta[0] = 1.0
    prefix = [delta]
    for p in pmfs[:-1]:
        prefix.append(_convolve(prefix[-1], p))
    suffix = [delta]
    for p in reversed(pmfs[1:]):
        suffix.append(_convolve(suffix[-1], p))
    suffix.reverse()
    return [_convolve(prefix[i], suffix[i]) for i in range(len(pmfs))]


def _grid(
    components: tuple[_Component, ...], promise_h: float, grid_step_h: float | None
) -> tuple[int, float]:
    upper = max(sum(c.upper() for c in components), 1.5 * promise_h)
    if grid_step_h is None:
        h = upper / _DEFAULT_CELLS
    else:
        h = float(grid_step_h)
        if not math.isfinite(h) or h <= 0:
            raise InputValueError(
                f"grid_step_h must be > 0 hours, got {grid_step_h!r}", argument="grid_step_h"
            )
    n = int(math.ceil(upper / h)) + 2
    if n > 2**24:
        raise InputValueError(
            f"grid_step_h={h:g} h needs {n:,} cells to cover {upper:,.0f} h; use a coarser step (e.g. {upper / 2**17:.3g})",
            argument="grid_step_h",
        )
    return n, h


def sla_chain(
    stages: Mapping[str, Any] | Sequence[Any],
    promise: float | timedelta | Promise,
    *,
    percent: float | None = None,
    slas: Mapping[str, Any] | None = None,
    handoffs: Mapping[str, Any] | None = None,
    departments: Mapping[str, str] | None = None,
    grid_step_h: float | None = None,
    method: Literal["convolution", "monte_carlo"] = "convolution",
    n_samples: int = 1_000_000,
    seed: int = 0,
) -> SlaChainResult:
    """P(end-to-end time ≤ promise) of a journey, beside each stage's P(≤ its own SLA).

    Parameters
    ----------
    stages : mapping of stage name -> distribution or samples, or a sequence of them
        Lead time of each stage in hours: a scipy.stats frozen distribution on [0, ∞) or a 1-D array of observed
        lead times (hours). A sequence gets the names ``stage_1, stage_2, …``.
    promise : float (hours), timedelta or Promise
        The promise to the customer. A :class:`~cx_framework.config.models.Promise` also supplies ``percent``.
    percent : float, optional
        Share (0–1) of journeys promised to finish in time (for ``meets_promise`` and :func:`required_tightening`).
    slas : mapping of stage name -> SLA, optional
        Each stage's own SLA: hours, ``(hours, percent)`` or an object with ``.hours`` and ``.percent``
        (``config.slas`` stage ``.sla``).
    handoffs : mapping of stage name -> distribution or samples, optional
        Hand-off wait *before* the named stage (hours); part of the end-to-end time, not of the stage's SLA.
    departments : mapping of stage name -> department id, optional
        Shown in the stage table.
    grid_step_h : float, optional
        Convolution grid step in hours (default: the covered range / 65,536).
    method : {"convolution", "monte_carlo"}
        Numerical convolution on a grid (default, deterministic) or Monte Carlo with ``n_samples`` draws.
    n_samples : int
        Monte Carlo draws.
    seed : int
        Monte Carlo seed.

    Returns
    -------
    SlaChainResult

    Raises
    ------
    InputValueError
        Non-positive promise, negative samples or support, unknown stage names in ``slas``/``handoffs``.

    Examples
    --------
    >>> from scipy import stats
    >>> r = sla_chain({"a": stats.gamma(2, scale=5), "b": stats.gamma(3, scale=5)}, 48)
    >>> bool(abs(r.p_within_promise - stats.gamma(5, scale=5).cdf(48)) < 1e-4)
    True
    """
    if isinstance(promise, Promise):
        percent = promise.percent if percent is None else percent
        promise_h = promise.hours
    else:
        promise_h = _hours(promise, "promise")
    if percent is not None and not 0 < percent < 1:
        raise InputValueError(f"percent must be a share in (0, 1), got {percent!r}", argument="percent")
    if method not in ("convolution", "monte_carlo"):
        raise InputValueError(
            f"method must be 'convolution' or 'monte_carlo', got {method!r}", argument="method"
        )
    comps = _components(stages, handoffs, slas, departments)
    if method == "convolution":
        return _by_convolution(comps, promise_h, percent, grid_step_h)
    return _by_monte_carlo(comps, promise_h, percent, int(n_samples), seed)


def _stage_table(comps: tuple[_Component, ...], share_of_miss: np.ndarray, p_late: float) -> pd.DataFrame:
    p_sla = [(float(c.cdf(np.array([c.sla_h]))[0]) if c.sla_h is not None else np.nan) for c in comps]
    frame = pd.DataFrame(
        {
            "component": [c.name for c in comps],
            "kind": [c.kind for c in comps],
            "department": [c.department for c in comps],
            "sla_h": [c.sla_h if c.sla_h is not None else np.nan for c in comps],
            "sla_percent": [c.sla_percent if c.sla_percent is not None else np.nan for c in comps],
            "p_within_sla": p_sla,
            "mean_h": [c.mean() for c in comps],
            "share_of_miss": share_of_miss,
            "contribution_to_miss": share_of_miss * p_late,
        }
    )
    frame.insert(
        6, "meets_sla", (frame["p_within_sla"] >= frame["sla_percent"]).where(frame["sla_percent"].notna())
    )
    return frame


def _by_convolution(
    comps: tuple[_Component, ...], promise_h: float, percent: float | None, grid_step_h: float | None
) -> SlaChainResult:
    n, h = _grid(comps, promise_h, grid_step_h)
    pmfs = [c.pmf(n, h) for c in comps]
    total = pmfs[0]
    for p in pmfs[1:]:
        total = _convolve(total, p)
    p_within = float(_cdf_at(total, h, promise_h))
    x = np.arange(n) * h
    # E[X_s · 1{S > promise}] = Σ_i x_i q_s(i) · P(rest > promise − x_i)
    if len(comps) > 1:
        rests = _leave_one_out(pmfs)
        late_mass = np.array(
            [
                float(np.sum(x * p * (1.0 - _cdf_at(r, h, promise_h - x))))
                for p, r in zip(pmfs, rests, strict=True)
            ]
        )
    else:
        late_mass = np.array([float(np.sum(x * pmfs[0] * (x > promise_h)))])
    p_late = max(0.0, 1.0 - p_within)
    share = late_mass / late_mass.sum() if late_mass.sum() > 0 else np.zeros(len(comps))
    edges, cum = _cell_cdf(total, h)
    quantiles = pd.Series(
        np.interp(_QUANTILES, cum, edges), index=pd.Index(_QUANTILES, name="probability"), name="hours"
    )
    density = _density_frame(x, total / h, cum[1:], float(np.interp(0.9999, cum, edges)))
    return SlaChainResult(
        promise_h=promise_h,
        promise_percent=percent,
        p_within_promise=p_within,
        stages=_stage_table(comps, share, p_late),
        quantiles=quantiles,
        density=density,
        method="convolution",
        grid_step_h=h,
        _components=comps,
    )


def _density_frame(
    x: np.ndarray, dens: np.ndarray, cdf: np.ndarray, x_max: float, points: int = 2000
) -> pd.DataFrame:
    keep = x <= x_max
    x, dens, cdf = x[keep], dens[keep], cdf[keep]
    k = max(1, len(x) // points)
    m = (len(x) // k) * k
    return pd.DataFrame(
        {
            "hours": x[:m].reshape(-1, k).mean(axis=1),
            "density": dens[:m].reshape(-1, k).mean(axis=1),
            "cdf": cdf[:m].reshape(-1, k)[:, -1],
        }
    )


def _by_monte_carlo(
    comps: tuple[_Component, ...], promise_h: float, percent: float | None, n_samples: int, seed: int
) -> SlaChainResult:
    if n_samples < 1000:
        raise InputValueError(f"n_samples must be >= 1000, got {n_samples}", argument="n_samples")
    rng = np.random.default_rng(seed)
    draws = np.vstack([c.draw(n_samples, rng) for c in comps])
    total = draws.sum(axis=0)
    late = total > promise_h
    p_within = float(1.0 - late.mean())
    late_mass = (draws * late).sum(axis=1) / n_samples
    share = late_mass / late_mass.sum() if late_mass.sum() > 0 else np.zeros(len(comps))
    quantiles = pd.Series(
        np.quantile(total, _QUANTILES), index=pd.Index(_QUANTILES, name="probability"), name="hours"
    )
    x_max = float(np.quantile(total, 0.9999))
    counts, edges = np.histogram(total, bins=400, range=(0.0, x_max))
    width = edges[1] - edges[0]
    density = pd.DataFrame(
        {
            "hours": 0.5 * (edges[:-1] + edges[1:]),
            "density": counts / (n_samples * width),
            "cdf": np.cumsum(counts) / n_samples,
        }
    )
    return SlaChainResult(
        promise_h=promise_h,
        promise_percent=percent,
        p_within_promise=p_within,
        stages=_stage_table(comps, share, 1.0 - p_within),
        quantiles=quantiles,
        density=density,
        method="monte_carlo",
        grid_step_h=float(width),
        _components=comps,
    )


# ------------------------------------------------------------------------------------------------ journeys
def journey_chain(
    journey: Journey,
    *,
    fitted: pd.DataFrame | None = None,
    **kwargs: Any,
) -> SlaChainResult:
    """:func:`sla_chain` of a configured journey (``config.slas.journeys``).

    Parameters
    ----------
    journey : Journey
        Stages with SLAs, lead-time distributions and hand-off waits; the promise and its percent.
    fitted : pandas.DataFrame, optional
        Output of :func:`fit_stage_distributions`; rows of this journey replace the configured lead times by the
        fitted gamma(shape, scale_h).
    **kwargs
        Passed to :func:`sla_chain` (``grid_step_h``, ``method``, …).

    Raises
    ------
    ConfigError
        A stage has neither a configured ``lead_time`` nor a fitted distribution.
    """
    fits: dict[str, Any] = {}
    if fitted is not None and len(fitted):
        from scipy import stats

        rows = fitted[(fitted["journey"] == journey.id) & fitted["shape"].notna()]
        fits = {
            str(s): stats.gamma(a=float(a), scale=float(sc))
            for s, a, sc in zip(rows["stage"], rows["shape"], rows["scale_h"], strict=True)
        }
    lead: dict[str, Any] = {}
    for i, s in enumerate(journey.stages):
        if s.stage in fits:
            lead[s.stage] = fits[s.stage]
        elif s.lead_time is not None:
            lead[s.stage] = s.lead_time.frozen()
        else:
            raise ConfigError(
                f"stage '{s.stage}' of journey '{journey.id}' has no lead_time; add one or pass fitted "
                "distributions (fit_stage_distributions(work_items))",
                file="slas.yaml",
                key=f"journeys[{journey.id}].stages[{i}].lead_time",
            )
    return sla_chain(
        lead,
        journey.promise,
        slas={s.stage: s.sla for s in journey.stages},
        handoffs={s.stage: s.handoff_wait.frozen() for s in journey.stages if s.handoff_wait is not None},
        departments={s.stage: s.department for s in journey.stages},
        **kwargs,
    )


# ------------------------------------------------------------------------------------------------ inverse
def required_tightening(
    result: SlaChainResult,
    *,
    percent: float | None = None,
    stage: str | None = None,
) -> pd.DataFrame:
    """How much must a stage's lead time shrink for the promise to hold?

    For each stage (or only ``stage``) find the factor ``c ∈ (0, 1]`` such that scaling that stage's lead time
    to ``c · X`` (all other components unchanged) gives ``P(E2E ≤ promise) = percent``. Scaling keeps the
    stage's shape, so its SLA at the same percent tightens to ``c · sla_h``. Solved by Brent's method on the
    exact grid convolution of the other components (computed once).

    Parameters
    ----------
    result : SlaChainResult
        From :func:`sla_chain` / :func:`journey_chain`.
    percent : float, optional
        Target share within the promise (default: the result's ``promise_percent``).
    stage : str, optional
        Only this stage.

    Returns
    -------
    pandas.DataFrame
        ``stage, department, binding`` (largest contribution to the miss), ``factor`` (1 = no change needed; NaN
        if even an instant stage cannot meet the promise), ``reduction`` (1 − factor), ``current_sla_h,
        required_sla_h, current_mean_h, required_mean_h, feasible``; binding stage first.

    Raises
    ------
    InputValueError
        No percent, or an unknown stage.
    """
    target = result.promise_percent if percent is None else percent
    if target is None or not 0 < target < 1:
        raise InputValueError(
            "required_tightening needs the promised percent (0-1): pass percent= or build the chain with one",
            argument="percent",
        )
    comps = result._components
    names = [c.name for c in comps if c.kind == "stage"]
    if stage is not None and stage not in names:
        raise InputValueError(f"unknown stage {stage!r}; stages are {', '.join(names)}", argument="stage")
    n, h = _grid(comps, result.promise_h, None)
    pmfs = [c.pmf(n, h) for c in comps]
    rests = _leave_one_out(pmfs)
    x = np.arange(n) * h
    binding = result.binding_stage
    rows = []
    for i, c in enumerate(comps):
        if c.kind != "stage" or (stage is not None and c.name != stage):
            continue
        rest = rests[i]
        rest_cdf = _cdf_at(rest, h, result.promise_h - x)

        def p_within(factor: float, c: _Component = c, rest_cdf: np.ndarray = rest_cdf) -> float:
            return float(np.sum(c.pmf(n, h, scale=factor) * rest_cdf))

        lo = 1e-6
        if p_within(1.0) >= target:
            factor = 1.0
        elif p_within(lo) < target:
            factor = math.nan
        else:
            from scipy import optimize

            factor = float(optimize.brentq(lambda f: p_within(f) - target, lo, 1.0, xtol=1e-7))
        rows.append(
            {
                "stage": c.name,
                "department": c.department,
                "binding": c.name == binding,
                "factor": factor,
                "reduction": 1.0 - factor,
                "current_sla_h": c.sla_h if c.sla_h is not None else np.nan,
                "required_sla_h": (c.sla_h * factor) if c.sla_h is not None else np.nan,
                "current_mean_h": c.mean(),
                "required_mean_h": c.mean() * factor,
                "feasible": not math.isnan(factor),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("binding", ascending=False, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ fitting
def fit_stage_distributions(
    work_items: pd.DataFrame, *, min_items: int = 20, validate: bool = True
) -> pd.DataFrame:
    """Fit a gamma lead-time distribution per (journey, stage) by maximum likelihood, with a KS check.

    Parameters
    ----------
    work_items : pandas.DataFrame
        DESIGN.md ``work_items``: ``item_id, stage, journey, department, entered_at, left_at`` (open items with
        ``left_at`` missing are ignored).
    min_items : int
        Groups with fewer completed items are reported with NaN parameters and a StatisticalWarning.
    validate : bool, default True
        Validate ``work_items`` against the data contract first (the columns used and any other contract
        column present); False only for a frame that :func:`cx_framework.schemas.validate` already checked.

    Returns
    -------
    pandas.DataFrame
        ``journey, stage, department, n, shape, scale_h, mean_h, ks_statistic, ks_pvalue`` — gamma with
        location 0 fitted by ``scipy.stats.gamma.fit(floc=0)`` on lead times in hours; the KS statistic is
        against the fitted distribution (p-value optimistic because parameters were estimated).

    Raises
    ------
    DataValidationError
        Missing columns or ``left_at`` before ``entered_at``; ``failures`` lists the rows.
    """
    needed = ["journey", "stage", "entered_at", "left_at"]
    if isinstance(min_items, bool) or not isinstance(min_items, int | np.integer) or min_items < 2:
        raise InputValueError(
            f"argument 'min_items' must be a whole number >= 2; got {str(min_items)[:40]}.",
            argument="min_items",
        )
    if validate:
        from cx_framework.schemas import column_kinds
        from cx_framework.schemas import validate as _validate

        present = set(work_items.columns) if isinstance(work_items, pd.DataFrame) else set()
        columns = [c for c in column_kinds("work_items") if c in present or c in needed]
        work_items = _validate("work_items", work_items, columns=columns, argument="work_items")
    missing = [c for c in needed if c not in work_items.columns]
    if missing:
        raise DataValidationError(
            f"work_items is missing column(s) {', '.join(missing)}; see DESIGN.md `work_items`",
            failures=pd.DataFrame(
                {
                    "table": "work_items",
                    "column": missing,
                    "check": "column_in_dataframe",
                    "row": None,
                    "value": None,
                }
            ),
            table="work_items",
        )
    done = work_items[work_items["left_at"].notna()]
    hours = (pd.to_datetime(done["left_at"]) - pd.to_datetime(done["entered_at"])).dt.total_seconds() / 3600.0
    bad = hours < 0
    if bad.any():
        rows = np.flatnonzero(work_items.index.isin(done.index[bad.to_numpy()]))
        raise DataValidationError(
            f"work_items: {int(bad.sum())} row(s) have left_at before entered_at (first at row {rows[0]}); fix "
            "the timestamps",
            failures=pd.DataFrame(
                {
                    "table": "work_items",
                    "column": "left_at",
                    "check": "left_at >= entered_at",
                    "row": rows,
                    "value": done.loc[bad, "left_at"].astype(str).to_numpy(),
                }
            ),
            table="work_items",
        )
    frame = pd.DataFrame(
        {"journey": done["journey"].to_numpy(), "stage": done["stage"].to_numpy(), "hours": hours.to_numpy()}
    )
    if "department" in done.columns:
        frame["department"] = done["department"].to_numpy()
    zero = frame["hours"] <= 0
    if zero.any():
        warnings.warn(
            f"fit_stage_distributions: {int(zero.sum())} completed item(s) with zero lead time were left out of "
            "the gamma fit (log-likelihood undefined at 0)",
            StatisticalWarning,
            stacklevel=2,
        )
        frame = frame[~zero]
    out = []
    for (journey, stage_id), group in frame.groupby(["journey", "stage"], sort=False):
        x = group["hours"].to_numpy()
        dept = group["department"].mode().iat[0] if "department" in group and len(group) else None
        out.append(_fit_stage(journey, stage_id, dept, x, min_items))
    return _stage_fits_frame(out)


def fit_stage_distributions_engine(engine: Any, work_items: Any, *, min_items: int = 20) -> pd.DataFrame:
    """:func:`fit_stage_distributions` on a work-items table that stays in an engine (DuckDB, Spark).

    ``work_items`` is an ibis table or :class:`~cx_framework.engine.ValidatedTable` (validated in the engine).
    The groups come from one query; each group's lead times (one float column) from another, so memory is
    bounded by the largest (journey, stage) group. Same fits, same KS checks, same warnings as the pandas path.
    """
    from cx_framework.engine.stages import stage_lead_times

    if isinstance(min_items, bool) or not isinstance(min_items, int | np.integer) or min_items < 2:
        raise InputValueError(
            f"argument 'min_items' must be a whole number >= 2; got {str(min_items)[:40]}.",
            argument="min_items",
        )
    times = stage_lead_times(engine, work_items)
    if times.zero_lead_times:
        warnings.warn(
            f"fit_stage_distributions: {times.zero_lead_times} completed item(s) with zero lead time were left "
            "out of the gamma fit (log-likelihood undefined at 0)",
            StatisticalWarning,
            stacklevel=2,
        )
    return _stage_fits_frame(
        [_fit_stage(journey, stage, dept, x, min_items) for journey, stage, dept, x in times]
    )


def _fit_stage(journey: Any, stage_id: Any, dept: Any, x: np.ndarray, min_items: int) -> dict[str, Any]:
    """Gamma fit (location 0) and KS check of one (journey, stage) group's lead times ``x`` (hours > 0)."""
    row: dict[str, Any] = {"journey": journey, "stage": stage_id, "department": dept, "n": len(x)}
    if len(x) < min_items:
        warnings.warn(
            f"journey '{journey}', stage '{stage_id}': only {len(x)} completed items (< {min_items}); no fit",
            StatisticalWarning,
            stacklevel=3,
        )
        row.update(shape=np.nan, scale_h=np.nan, mean_h=float(np.mean(x)) if len(x) else np.nan)
        row.update(ks_statistic=np.nan, ks_pvalue=np.nan)
        return row
    from scipy import stats

    try:
        a, _, scale = stats.gamma.fit(x, floc=0)
    except Exception as exc:  # scipy raises plain errors on degenerate samples
        raise ModelError(
            f"gamma fit failed for journey '{journey}', stage '{stage_id}' ({len(x)} items): {exc}"
        ) from exc
    ks = stats.kstest(x, "gamma", args=(a, 0, scale))
    row.update(shape=float(a), scale_h=float(scale), mean_h=float(a * scale))
    row.update(ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue))
    return row


def _stage_fits_frame(out: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        out,
        columns=[
            "journey",
            "stage",
            "department",
            "n",
            "shape",
            "scale_h",
            "mean_h",
            "ks_statistic",
            "ks_pvalue",
        ],
    )
