"""Erlang C (M/M/N) queueing: P(wait), service level, ASA, occupancy and the agents needed for a target.

Numerics
--------
Erlang B is evaluated through the regularised upper incomplete gamma function,
``B(N, A) = Poisson_pmf(N; A) / Q(N + 1, A)`` where ``Q(N + 1, A) = P(Poisson(A) <= N)`` (Jagerman 1974, "Some
properties of the Erlang loss function", Bell Syst. Tech. J. 53(3)). The pmf is formed in log space
(``N log A - A - lnGamma(N + 1)``), so there are no factorials or ``A**N`` and the formula is stable from 1 to
100,000+ agents. Erlang C follows from B: ``C = N B / (N - A (1 - B))`` for ``N > A``. For ``N <= A`` the queue
is unstable: P(wait) = 1, service level 0 and ASA infinite (never nan). ``agents`` may be non-integer; the
incomplete-gamma form is the standard continuous extension.

Service level and ASA follow the textbook M/M/N formulas (Cooper 1981, *Introduction to Queueing Theory*,
ch. 5; Koole 2013, *Call Center Optimization*, ch. 4): ``SL = 1 - C exp(-(N - A) t / AHT)`` and
``ASA = C AHT / (N - A)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cx_framework.staffing._arrays import ArrayLike, broadcast_inputs, check_scalar, check_traffic

__all__ = [
    "traffic_intensity",
    "erlang_b",
    "erlang_c",
    "service_level",
    "asa",
    "occupancy",
    "agents_needed",
]


def _log_poisson_pmf(traffic: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """log P(Poisson(A) = N) = N log A - A - lnGamma(N + 1): the numerator of Erlang B in log space."""
    from scipy import special  # here, not at import: results unpickled by the report and the app import us

    return np.asarray(special.xlogy(agents, traffic) - traffic - special.gammaln(agents + 1.0), dtype=float)


def _log_erlang_b(traffic: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """log B(N, A) for ``N > A > 0`` (where Q(N+1, A) >= ~1/2 so nothing underflows)."""
    from scipy import special

    log_q = np.log(special.gammaincc(agents + 1.0, traffic))
    return np.asarray(_log_poisson_pmf(traffic, agents) - log_q, dtype=float)


def log_regularized_q(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log of the regularised upper incomplete gamma Q(s, x) without underflow.

    ``scipy.special.gammaincc`` where Q > 1e-280; elsewhere (x far above s) the Legendre continued fraction
    evaluated with the modified Lentz method (Press et al., *Numerical Recipes*, 3rd ed., §6.2, ``gcf``),
    which converges in a few dozen terms in that regime.
    """
    from scipy import special

    with np.errstate(divide="ignore"):
        q = special.gammaincc(s, x)
        out = np.log(q)
    small = q < 1e-280
    if small.any():
        ss, xs = s[small], x[small]
        tiny = 1e-300
        b = xs + 1.0 - ss
        c = np.full(ss.shape, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        active = np.arange(ss.size)  # shrink to the unconverged elements each pass
        for i in range(1, 100_000):
            sa = ss[active]
            an = -i * (i - sa)
            b[active] += 2.0
            da = an * d[active] + b[active]
            da = np.where(np.abs(da) < tiny, tiny, da)
            ca = b[active] + an / c[active]
            ca = np.where(np.abs(ca) < tiny, tiny, ca)
            da = 1.0 / da
            delta = da * ca
            d[active], c[active] = da, ca
            h[active] *= delta
            active = active[np.abs(delta - 1.0) > 1e-15]
            if active.size == 0:
                break
        out[small] = -xs + ss * np.log(xs) - special.gammaln(ss) + np.log(h)
    return np.asarray(out, dtype=float)


def log_erlang_b_any(traffic: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """log B(N, A) for any ``A > 0, N >= 0`` (also overload), via log pmf minus log Q(N + 1, A)."""
    log_b = _log_poisson_pmf(traffic, agents) - log_regularized_q(agents + 1.0, traffic)
    return np.asarray(np.minimum(log_b, 0.0), dtype=float)


def _erlang_c_core(traffic: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """P(wait) for float arrays of equal shape; 1 where N <= A, 0 where A == 0."""
    out = np.ones(np.shape(traffic), dtype=float)
    stable = agents > traffic
    zero = traffic == 0.0
    out[zero] = 0.0
    calc = stable & ~zero
    if calc.any():
        a = traffic[calc]
        n = agents[calc]
        b = np.exp(_log_erlang_b(a, n))
        out[calc] = n * b / (n - a * (1.0 - b))
    return out


def _sl_core(
    calls: np.ndarray, aht_s: np.ndarray, agents: np.ndarray, answer_s: float, interval_s: float
) -> np.ndarray:
    traffic = calls * aht_s / interval_s
    pw = _erlang_c_core(traffic, agents)
    with np.errstate(over="ignore", invalid="ignore"):
        sl = 1.0 - pw * np.exp(-(agents - traffic) * answer_s / aht_s)
    sl = np.where(agents > traffic, sl, 0.0)
    sl = np.where(calls == 0.0, 1.0, sl)
    return np.clip(sl, 0.0, 1.0)


def _model_sl(
    calls: np.ndarray,
    aht_s: np.ndarray,
    agents: np.ndarray,
    patience_s: np.ndarray | None,
    answer_s: float,
    interval_s: float,
) -> np.ndarray:
    """Service level on validated flat arrays: Erlang C, or Erlang A when ``patience_s`` (seconds) is given."""
    if patience_s is None:
        return _sl_core(calls, aht_s, agents, answer_s, interval_s)
    from cx_framework.staffing.erlang_a import _erlang_a_core  # erlang_a imports this module

    return _erlang_a_core(calls, aht_s, agents, patience_s, answer_s, interval_s)["service_level"]


def traffic_intensity(calls: ArrayLike, aht_s: ArrayLike, *, interval_s: float = 1800.0) -> Any:
    """Offered load in Erlangs, ``A = calls * aht_s / interval_s``.

    Parameters
    ----------
    calls : float, numpy.ndarray or pandas.Series
        Calls offered in the interval (count, >= 0).
    aht_s : float, array or Series
        Average handle time (seconds, > 0).
    interval_s : float
        Interval length (seconds).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Offered traffic (Erlangs), same kind as the input.
    """
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    (c, h), wrap = broadcast_inputs([("calls", calls, False), ("aht_s", aht_s, True)])
    return wrap(c * h / interval_s)


def erlang_b(traffic: ArrayLike, agents: ArrayLike) -> Any:
    """Erlang B blocking probability of an M/M/N/N loss system (share 0–1).

    Stable for any size via the incomplete-gamma identity (see module notes), including deep overload
    (``N << A``), where ``log Q`` comes from a continued fraction instead of underflowing.

    Parameters
    ----------
    traffic : float, array or Series
        Offered load (Erlangs, >= 0).
    agents : float, array or Series
        Number of servers (>= 0; non-integer values use the continuous extension).
    """
    (a, n), wrap = broadcast_inputs([("traffic", traffic, False), ("agents", agents, False)])
    out = np.zeros(a.shape, dtype=float)
    pos = a > 0
    out[pos] = np.exp(log_erlang_b_any(a[pos], n[pos]))
    out[(a == 0) & (n == 0)] = 1.0
    return wrap(out)


def erlang_c(traffic: ArrayLike, agents: ArrayLike) -> Any:
    """Erlang C probability that an arriving call waits, P(wait) (share 0–1).

    Parameters
    ----------
    traffic : float, numpy.ndarray or pandas.Series
        Offered load A (Erlangs, >= 0), ``calls * aht_s / interval_s``.
    agents : float, array or Series
        Agents on the phones N (>= 0).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        P(wait); 1 where ``N <= A`` (unstable queue), 0 where ``A == 0``.

    Raises
    ------
    InputValueError
        A negative or non-finite value; the message names the argument and the first offending index.

    Examples
    --------
    >>> round(erlang_c(10.0, 12), 6)
    0.449388
    """
    (a, n), wrap = broadcast_inputs([("traffic", traffic, False), ("agents", agents, False)])
    return wrap(_erlang_c_core(a, n))


def service_level(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    *,
    answer_s: float = 20.0,
    interval_s: float = 1800.0,
    patience_s: float | ArrayLike | None = None,
) -> Any:
    """Share of offered calls answered within ``answer_s`` seconds (0–1).

    Erlang C: ``SL = 1 - C(N, A) exp(-(N - A) answer_s / aht_s)``, 0 for ``N <= A``, 1 when ``calls == 0``.
    With ``patience_s`` the Erlang A (M/M/N+M) model is used instead: see :func:`erlang_a`; abandoned calls
    count as not answered within the threshold (the ``definition="offered"`` service level of DESIGN.md).

    Parameters
    ----------
    calls : float, numpy.ndarray or pandas.Series
        Calls offered per interval (>= 0).
    aht_s : float, array or Series
        Average handle time (seconds, > 0).
    agents : float, array or Series
        Agents on the phones (>= 0).
    answer_s : float
        Answer-time threshold (seconds, >= 0), e.g. 20 for "80/20".
    interval_s : float
        Interval length (seconds), 1800 for half hours.
    patience_s : float, array, Series or None
        Mean customer patience (seconds, > 0) for Erlang A; None (default) means infinitely patient callers.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Service level, same kind as the inputs (a Series keeps its index).

    Raises
    ------
    InputValueError
        Negative/NaN calls, agents or patience, ``aht_s <= 0``, ``answer_s < 0``; names argument and index.
    """
    answer_s = check_scalar("answer_s", answer_s, low=0.0, open_low=False)
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    if patience_s is not None:
        from cx_framework.staffing.erlang_a import _erlang_a_service_level

        return _erlang_a_service_level(
            calls, aht_s, agents, patience_s=patience_s, answer_s=answer_s, interval_s=interval_s
        )
    (c, h, n), wrap = broadcast_inputs(
        [("calls", calls, False), ("aht_s", aht_s, True), ("agents", agents, False)]
    )
    check_traffic(c * h / interval_s, calls)
    return wrap(_sl_core(c, h, n, answer_s, interval_s))


def asa(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    *,
    interval_s: float = 1800.0,
    patience_s: float | ArrayLike | None = None,
) -> Any:
    """Average speed of answer (seconds): mean wait of answered calls.

    Erlang C: ``ASA = C(N, A) aht_s / (N - A)``; ``inf`` for ``N <= A``; 0 when ``calls == 0``. With
    ``patience_s`` the Erlang A mean wait of *answered* calls is returned (see :func:`erlang_a`).

    Parameters
    ----------
    calls, aht_s, agents : float, array or Series
        Calls offered (>= 0), average handle time (seconds, > 0), agents (>= 0).
    interval_s : float
        Interval length (seconds).
    patience_s : float, array, Series or None
        Mean patience (seconds) for Erlang A; None for Erlang C.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        ASA in seconds.
    """
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    if patience_s is not None:
        from cx_framework.staffing.erlang_a import erlang_a

        return erlang_a(calls, aht_s, agents, patience_s=patience_s, interval_s=interval_s).asa
    (c, h, n), wrap = broadcast_inputs(
        [("calls", calls, False), ("aht_s", aht_s, True), ("agents", agents, False)]
    )
    traffic = c * h / interval_s
    check_traffic(traffic, calls)
    pw = _erlang_c_core(traffic, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > traffic, pw * h / (n - traffic), np.inf)
    out = np.where(c == 0.0, 0.0, out)
    return wrap(out)


def occupancy(calls: ArrayLike, aht_s: ArrayLike, agents: ArrayLike, *, interval_s: float = 1800.0) -> Any:
    """Agent occupancy ``A / N`` (share 0–1): the share of staffed time agents spend handling calls.

    Capped at 1 when ``N <= A`` (agents are busy all the time in an overloaded queue); 0 when there is no traffic.

    Parameters
    ----------
    calls, aht_s, agents : float, array or Series
        Calls offered (>= 0), average handle time (seconds, > 0), agents (>= 0).
    interval_s : float
        Interval length (seconds).
    """
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    (c, h, n), wrap = broadcast_inputs(
        [("calls", calls, False), ("aht_s", aht_s, True), ("agents", agents, False)]
    )
    traffic = c * h / interval_s
    check_traffic(traffic, calls)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 0, np.minimum(traffic / np.where(n > 0, n, 1.0), 1.0), 1.0)
    out = np.where(traffic == 0.0, 0.0, out)
    return wrap(out)


def _smallest_meeting(sl_of: Any, lower: np.ndarray, start: np.ndarray, target: float) -> np.ndarray:
    """Smallest integer N > ``lower`` with ``sl_of(N, mask) >= target``, vectorised.

    ``lower`` must fail the target (or be -1). Exponential search from ``start`` finds a passing upper bound,
    then bisection over integers shrinks every bracket at once: O(log range) array passes, no per-interval loop.
    """
    lo = lower.astype(float).copy()
    hi = np.maximum(start, lo + 1.0)
    step = np.maximum(hi - lo, 1.0)
    ok = sl_of(hi, np.ones(hi.shape, dtype=bool)) >= target
    for _ in range(200):
        if ok.all():
            break
        idx = ~ok
        lo[idx] = hi[idx]
        step[idx] *= 2.0
        hi[idx] = hi[idx] + step[idx]
        ok[idx] = sl_of(hi[idx], idx) >= target
    while True:
        active = hi - lo > 1.0
        if not active.any():
            return np.asarray(hi, dtype=float)
        mid = np.floor((lo[active] + hi[active]) / 2.0)
        passed = sl_of(mid, active) >= target
        a_idx = np.flatnonzero(active)
        hi[a_idx[passed]] = mid[passed]
        lo[a_idx[~passed]] = mid[~passed]


def agents_needed(
    calls: ArrayLike,
    aht_s: ArrayLike,
    *,
    target: float = 0.8,
    answer_s: float = 20.0,
    interval_s: float = 1800.0,
    patience_s: float | ArrayLike | None = None,
) -> Any:
    """Smallest whole number of agents whose service level reaches ``target``.

    Erlang C: the smallest integer ``N > A`` with ``SL(N) >= target``; 0 when ``calls == 0``. With ``patience_s``
    the Erlang A service level is used (the answer may then be below ``A``: callers who abandon free capacity).
    Vectorised: a square-root-staffing start ``A + sqrt(A)`` (Halfin & Whitt 1981), exponential search for a
    passing bound, then integer bisection over all intervals at once.

    Parameters
    ----------
    calls : float, numpy.ndarray or pandas.Series
        Calls offered per interval (>= 0).
    aht_s : float, array or Series
        Average handle time (seconds, > 0).
    target : float
        Service-level target (share in (0, 1)).
    answer_s : float
        Answer-time threshold (seconds, >= 0).
    interval_s : float
        Interval length (seconds).
    patience_s : float, array, Series or None
        Mean patience (seconds) for Erlang A; None for Erlang C.

    Returns
    -------
    int, numpy.ndarray of int64 or pandas.Series of int64
        Agents needed on the phones (before shrinkage).

    Raises
    ------
    InputValueError
        Bad calls/AHT/patience (names argument and index), target outside (0, 1), answer_s < 0.

    Examples
    --------
    >>> agents_needed(100, 180, target=0.8, answer_s=20, interval_s=1800)
    14
    """
    target = check_scalar("target", target, low=0.0, high=1.0)
    answer_s = check_scalar("answer_s", answer_s, low=0.0, open_low=False)
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    specs = [("calls", calls, False), ("aht_s", aht_s, True)]
    if patience_s is not None:
        specs.append(("patience_s", patience_s, True))
    arrays, wrap = broadcast_inputs(specs)
    c = arrays[0].ravel()
    h = arrays[1].ravel()
    traffic = c * h / interval_s
    check_traffic(traffic, calls)
    result = np.zeros(c.shape, dtype=float)
    busy = c > 0
    if busy.any():
        cb, hb, ab = c[busy], h[busy], traffic[busy]
        pb = None if patience_s is None else arrays[2].ravel()[busy]

        def sl_of(n: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return _model_sl(cb[mask], hb[mask], n, None if pb is None else pb[mask], answer_s, interval_s)

        # Erlang C: N <= A always fails (SL 0). With abandonment N < A can be enough, so search from 0 agents
        # (which answer nobody: SL 0).
        lower = np.floor(ab) if pb is None else np.zeros(cb.shape)
        start = np.ceil(ab + np.sqrt(ab)) + 1.0
        result[busy] = _smallest_meeting(sl_of, lower, start, target)
    return wrap(result.reshape(arrays[0].shape).astype(np.int64))  # a scalar input comes back as int
