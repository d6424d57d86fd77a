"""Erlang A (M/M/N+M, "Palm's queue"): Poisson arrivals, exponential service, exponential customer patience.

Model
-----
Calls arrive at rate ``lam = calls / interval_s``, are served at rate ``mu = 1 / aht_s`` by ``N`` agents, and a
waiting caller abandons at rate ``theta = 1 / patience_s``. The system is stable for any ``N`` (abandonment
sheds the excess), so unlike Erlang C it does not tell users with real abandonment to over-staff.

With ``x = N mu / theta``, ``y = lam / theta``, ``rho = lam / (N mu)``, ``E = ErlangB(N, lam / mu)`` and
``K(x, y) = sum_j y^j / ((x+1)(x+2)...(x+j)) = 1F1(1; x+1; y) = x e^y y^-x gamma(x, y)``:

* ``P(wait) = K E / (1 + (K - 1) E)``  (Garnett, Mandelbaum & Reiman 2002, "Designing a call center with
  impatient customers", M&SOM 4(3); Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A
  queue, with applications to call centers").
* ``P(abandon) = P(wait) (1 - (1 - 1/K) / rho)``  (same sources).
* Offered waiting time ``V`` has density ``N mu pi_N exp(lam H(t) - N mu t)`` for ``t > 0`` with
  ``H(t) = (1 - e^-theta t) / theta`` and ``pi_N = P(wait) / K`` (Baccelli & Hebuterne 1981; Mandelbaum &
  Zeltyn 2007). A caller is answered within ``T`` iff ``V <= T`` and ``V < patience``; integrating gives, with
  ``y_T = y e^(-theta T)``,

  ``SL(T) = 1 - P(wait) + P(wait)/rho * [(1 - 1/K(x, y)) - e^(y - y_T - N mu T) (K(x, y_T) - 1) / K(x, y)]``.

  This is the ``definition="offered"`` service level of DESIGN.md: abandoned calls count as not answered in time.
* ASA is the mean wait of *answered* calls, ``E[V; V < tau] / P(answered)``; the integral ``E[V e^(-theta V)]``
  is computed by 128-point Gauss–Legendre quadrature over the window where its log-concave integrand is within
  e^-50 of its peak.

``K`` is evaluated as ``scipy.special.hyp1f1(1, x+1, y)`` when ``y < x`` and in log space through the regularised
lower incomplete gamma when ``y >= x`` (where it is >= ~1/2, so nothing underflows).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from cx_framework.staffing._arrays import ArrayLike, broadcast_inputs, check_scalar, check_traffic
from cx_framework.staffing.erlang import log_erlang_b_any

__all__ = ["ErlangAResult", "erlang_a"]


@functools.cache
def _gauss_legendre() -> tuple[np.ndarray, np.ndarray]:
    """128-point Gauss–Legendre nodes and weights on [-1, 1] (an eigenproblem: computed on first use)."""
    nodes, weights = np.polynomial.legendre.leggauss(128)
    return nodes, weights


@dataclass(frozen=True)
class ErlangAResult:
    """Erlang A performance measures, each the same kind as the inputs (float, ndarray or Series).

    Attributes
    ----------
    p_wait : share 0–1 of calls that have to wait.
    service_level : share 0–1 of offered calls answered within ``answer_s`` seconds.
    abandonment_rate : share 0–1 of offered calls that abandon.
    asa : mean wait of answered calls (seconds); ``inf`` when no call is answered.
    """

    p_wait: Any
    service_level: Any
    abandonment_rate: Any
    asa: Any

    def summary(self) -> str:
        """One line per measure (means when arrays are given)."""

        def fmt(v: Any) -> str:
            arr = np.asarray(v, dtype=float)
            return f"{arr.item():.4f}" if arr.ndim == 0 else f"mean {np.nanmean(arr):.4f} over {arr.size}"

        return (
            f"P(wait) {fmt(self.p_wait)}; service level {fmt(self.service_level)}; "
            f"abandonment {fmt(self.abandonment_rate)}; ASA (s) {fmt(self.asa)}"
        )

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import html_card

        def shown(value: Any, fmt: str) -> str:
            arr = np.asarray(value, dtype=float)
            if arr.ndim == 0:
                return F.format_value(float(arr), fmt)
            return f"{F.format_value(float(np.nanmean(arr)), fmt)} (mean of {arr.size:,})"

        n = int(np.asarray(self.service_level).size)
        return html_card(
            "Erlang A (M/M/N+M)" + (f", {n:,} cases" if n > 1 else ""),
            figures=[
                ("Probability of waiting", shown(self.p_wait, "percent")),
                ("Service level", shown(self.service_level, "percent")),
                ("Abandonment rate", shown(self.abandonment_rate, "percent")),
                ("Average speed of answer", shown(self.asa, "seconds")),
            ],
            caveats=[
                "Shares of offered calls; callers have exponential patience (Garnett, Mandelbaum & Reiman 2002)."
            ],
        )


def _log_k(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log K(x, y) = log 1F1(1; x+1; y) for x > 0, y >= 0."""
    from scipy import special  # here, not at import: results unpickled by the report and the app import us

    out = np.zeros(x.shape)
    low = y < x
    if low.any():
        out[low] = np.log(special.hyp1f1(1.0, x[low] + 1.0, y[low]))
    hi = ~low
    if hi.any():
        xh, yh = x[hi], y[hi]
        out[hi] = yh - special.xlogy(xh, yh) + special.gammaln(xh + 1.0) + np.log(special.gammainc(xh, yh))
    return out


def _mean_log_window(y: np.ndarray, s: np.ndarray, *, block: int = 16384) -> np.ndarray:
    """Mean of v under the density proportional to exp(y (1 - e^-v) - s v) on v >= 0 (log-concave)."""
    if y.size > block:  # bound the (rows x 128 nodes) work matrices to a few MB
        return np.concatenate(
            [_mean_log_window(y[i : i + block], s[i : i + block]) for i in range(0, y.size, block)]
        )

    def phi(v: np.ndarray) -> np.ndarray:
        return phi_matrix(v[:, None], y, s)[:, 0]

    def edge(inside: np.ndarray, outside: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Bisect between a point above ``level`` and one below it (window ends only need ~1e-8 precision)."""
        for _ in range(32):
            mid = 0.5 * (inside + outside)
            above = phi(mid) > level
            inside = np.where(above, mid, inside)
            outside = np.where(above, outside, mid)
        return outside

    mode = np.maximum(0.0, np.log(np.maximum(y, 1e-300) / s))
    peak = phi(mode)
    # right end: phi(mode + 51) <= peak - 50 always (concavity, slope -> -s with s >= 1); bisect for the e^-50 point
    right = edge(mode, mode + 51.0, peak - 50.0)
    left = np.where(phi(np.zeros_like(mode)) > peak - 50.0, 0.0, edge(mode, np.zeros_like(mode), peak - 50.0))
    half = 0.5 * (right - left)
    nodes, weights = _gauss_legendre()
    v = (left + half)[:, None] + half[:, None] * nodes[None, :]
    w = np.exp(phi_matrix(v, y, s) - peak[:, None]) * weights[None, :]
    return np.asarray((w * v).sum(axis=1) / w.sum(axis=1), dtype=float)


def phi_matrix(v: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.asarray(y[:, None] * (-np.expm1(-v)) - s[:, None] * v, dtype=float)


def _erlang_a_core(
    calls: np.ndarray,
    aht_s: np.ndarray,
    agents: np.ndarray,
    patience_s: np.ndarray,
    answer_s: float,
    interval_s: float,
    *,
    with_asa: bool = False,
) -> dict[str, np.ndarray]:
    """Erlang A measures on flat float arrays of equal shape (validated)."""
    from scipy import special

    shape = calls.shape
    p_wait = np.ones(shape)
    sl = np.zeros(shape)
    aband = np.ones(shape)
    asa_out = np.full(shape, np.inf)
    idle = calls == 0.0
    p_wait[idle], sl[idle], aband[idle], asa_out[idle] = 0.0, 1.0, 0.0, 0.0
    calc = ~idle & (agents > 0)
    if calc.any():
        c, h, n, p = calls[calc], aht_s[calc], agents[calc], patience_s[calc]
        lam = c / interval_s
        traffic = lam * h
        x = n * p / h
        y = lam * p
        rho = traffic / n
        log_k = _log_k(x, y)
        log_e = log_erlang_b_any(traffic, n)
        with np.errstate(over="ignore", divide="ignore"):
            # P(wait) = 1 / (1 + (1/E - 1) / K)
            t = np.log(np.expm1(-log_e)) - log_k
        pw = special.expit(-t)
        one_minus_inv_k = -np.expm1(-log_k)
        served_after_wait = pw / rho * one_minus_inv_k
        ab = np.clip(pw - served_after_wait, 0.0, 1.0)
        if answer_s > 0:
            theta_t = answer_s / p
            y_t = y * np.exp(-theta_t)
            # (K(x, y_T) - 1) = y_T / (x + 1) * K(x + 1, y_T)
            log_term = (
                y * (-np.expm1(-theta_t))
                - n * answer_s / h
                + np.log(y)
                - theta_t  # log y_T without underflow
                - np.log1p(x)
                + _log_k(x + 1.0, y_t)
                - log_k
            )
            bracket = one_minus_inv_k - np.exp(log_term)
            s_l = 1.0 - pw + pw / rho * np.maximum(bracket, 0.0)
        else:
            s_l = 1.0 - pw
        p_wait[calc] = pw
        sl[calc] = np.clip(s_l, 0.0, 1.0)
        aband[calc] = ab
        if with_asa:
            answered = 1.0 - ab
            mean_v = _mean_log_window(y, x + 1.0) * p  # E[V | answered after waiting], seconds
            with np.errstate(divide="ignore", invalid="ignore"):
                asa_c = np.where(answered > 0, served_after_wait * mean_v / answered, np.inf)
            asa_out[calc] = asa_c
    return {"p_wait": p_wait, "service_level": sl, "abandonment_rate": aband, "asa": asa_out}


def erlang_a(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    *,
    patience_s: ArrayLike,
    answer_s: float = 20.0,
    interval_s: float = 1800.0,
) -> ErlangAResult:
    """Erlang A (M/M/N+M) P(wait), service level, abandonment rate and ASA for callers who abandon.

    See the module docstring for the model, formulas and references (Garnett, Mandelbaum & Reiman 2002;
    Mandelbaum & Zeltyn 2007). As ``patience_s -> inf`` the measures converge to Erlang C.

    Parameters
    ----------
    calls : float, numpy.ndarray or pandas.Series
        Calls offered per interval (>= 0).
    aht_s : float, array or Series
        Average handle time (seconds, > 0).
    agents : float, array or Series
        Agents on the phones (>= 0).
    patience_s : float, array or Series
        Mean time a caller is willing to wait before abandoning (seconds, > 0); estimate it as
        total waiting time of all calls / abandoned calls (Mandelbaum & Zeltyn 2007, §4).
    answer_s : float
        Answer-time threshold of the service level (seconds, >= 0).
    interval_s : float
        Interval length (seconds).

    Returns
    -------
    ErlangAResult
        Frozen result whose fields have the same kind as the inputs. With 0 agents: P(wait) 1, SL 0,
        abandonment 1, ASA inf. With 0 calls: P(wait) 0, SL 1, abandonment 0, ASA 0.

    Raises
    ------
    InputValueError
        Negative or non-finite inputs, ``aht_s <= 0`` or ``patience_s <= 0``; the message names the argument
        and the first offending index.
    """
    return ErlangAResult(**_measures(calls, aht_s, agents, patience_s, answer_s, interval_s, with_asa=True))


def _erlang_a_service_level(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    *,
    patience_s: ArrayLike,
    answer_s: float = 20.0,
    interval_s: float = 1800.0,
) -> Any:
    """``erlang_a(...).service_level`` (same inputs, checks and numbers) without the ASA quadrature, which is
    most of the cost and which a service level does not need."""
    return _measures(calls, aht_s, agents, patience_s, answer_s, interval_s, with_asa=False)["service_level"]


def _measures(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    patience_s: ArrayLike,
    answer_s: float,
    interval_s: float,
    *,
    with_asa: bool,
) -> dict[str, Any]:
    """Validated Erlang A measures, each the same kind as the inputs (ASA only ``with_asa``)."""
    answer_s = check_scalar("answer_s", answer_s, low=0.0, open_low=False)
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    (c, h, n, p), wrap = broadcast_inputs(
        [
            ("calls", calls, False),
            ("aht_s", aht_s, True),
            ("agents", agents, False),
            ("patience_s", patience_s, True),
        ]
    )
    check_traffic(c * h / interval_s, calls)
    shape = c.shape
    res = _erlang_a_core(c.ravel(), h.ravel(), n.ravel(), p.ravel(), answer_s, interval_s, with_asa=with_asa)
    if not with_asa:
        del res["asa"]
    return {k: wrap(v.reshape(shape)) for k, v in res.items()}
