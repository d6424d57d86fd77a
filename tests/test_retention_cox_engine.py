"""The Cox retention model on aggregates (``fit_retention_engine(model="cox")``) against statsmodels' PHReg.

Each customer-month row (t, t+1] is at risk only in its own tenure's risk set, so the Breslow partial likelihood
and the customer-clustered sandwich need only per-(tenure, design row) counts in the engine
(``cx_framework/retention/engine.py``). References: the pandas path (statsmodels ``PHReg`` on every row), a
closed-form single-risk-set example worked by hand, and a brute-force per-row sandwich.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cx_framework.engine import connect, customer_panel, validate_table
from cx_framework.errors import InputValueError, StatisticalWarning
from cx_framework.retention import build_customer_panel, fit_retention, fit_retention_engine

REL = 1e-9


@pytest.fixture(scope="module")
def duck():
    with connect("duckdb", threads=2) as engine:
        yield engine


@pytest.fixture(scope="module")
def panels(duck):
    """A small generated organisation (500 customers, 12 months): its pandas panel and its engine panel."""
    from cx_framework.synthetic import generate_organisation

    org = generate_organisation(seed=3, customers=500, employees=60, months=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        pandas_panel = build_customer_panel(org.contacts, org.customers)
        contacts = validate_table(duck, "contacts", org.contacts)
        customers = validate_table(duck, "customers", org.customers)
        engine_panel = customer_panel(duck, contacts, customers)
    return pandas_panel, engine_panel


def _assert_same_fit(got, expected) -> None:
    assert got.model == expected.model == "cox"
    assert list(got.params.index) == list(expected.params.index)
    np.testing.assert_allclose(got.params.to_numpy(), expected.params.to_numpy(), rtol=REL)
    np.testing.assert_allclose(got.cov_params.to_numpy(), expected.cov_params.to_numpy(), rtol=REL, atol=0)
    np.testing.assert_allclose(got.bse.to_numpy(), expected.bse.to_numpy(), rtol=REL)
    np.testing.assert_allclose(
        got.summary()["hazard_ratio"].to_numpy(), expected.summary()["hazard_ratio"].to_numpy(), rtol=REL
    )
    np.testing.assert_allclose(got.conf_int().to_numpy(), expected.conf_int().to_numpy(), rtol=REL)
    assert (got.nobs, got.n_events, got.n_clusters, got.n_periods, got.cov_type) == (
        expected.nobs,
        expected.n_events,
        expected.n_clusters,
        expected.n_periods,
        expected.cov_type,
    )
    assert got.baseline_churn == pytest.approx(expected.baseline_churn, rel=REL)
    assert got.exposure_mean == pytest.approx(expected.exposure_mean, rel=REL)
    # derived figures: the average marginal effect and the dose response read the Breslow baseline hazard
    for field in ("estimate", "std_error", "lower", "upper"):
        a, b = getattr(got.marginal_effect, field), getattr(expected.marginal_effect, field)
        assert a == pytest.approx(b, rel=REL, abs=1e-15), field
    grid = [0.5, 0.7, 0.8, 0.9, 1.0]
    pd.testing.assert_frame_equal(
        got.dose_response(grid), expected.dose_response(grid), check_exact=False, rtol=REL
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"dose": "binned", "bins": (0.0, 0.5, 1.0)},
        {"dose": "spline", "knots": 3},
        {"lag": 1, "controls": ()},
        {"cluster": None},
    ],
    ids=["linear", "binned", "spline", "lag1", "unclustered"],
)
def test_engine_cox_equals_pandas_phreg(duck, panels, kwargs):
    pandas_panel, engine_panel = panels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        expected = fit_retention(pandas_panel, model="cox", **kwargs)
        got = fit_retention_engine(duck, engine_panel, model="cox", **kwargs)
    assert "tenure_months" not in got.controls and "tenure_months" not in got.params.index  # the time scale
    assert got.method == "grouped" and got.n_groups < expected.nobs  # fitted on (tenure, design row) groups
    _assert_same_fit(got, expected)


def test_cox_single_risk_set_worked_by_hand(duck):
    """One tenure, a binary exposure, one row per customer. Breslow: l(b) = d1 b - D log(n0 + n1 e^b), so
    b = log(d1 n0 / (d0 n1)). Here n0 = 4 (d0 = 1) at service level 0 and n1 = 5 (d1 = 2) at 1:
    b = log(2 * 4 / (1 * 5)) = log 1.6.
    At b: x̄ = d1/D = 2/3 and D e^{x b} / S0 = p_x, the churn rate of the row's level (1/4, 2/5), so a row's score
    residual is (x - 2/3)(δ - p_x). Information: D x̄ (1 - x̄) = 3 * 2/3 * 1/3 = 2/3. Meat (one row per cluster):
    Σ_x (x - x̄)² n_x p_x (1 - p_x) = (4/9)(4)(1/4)(3/4) + (1/9)(5)(2/5)(3/5) = 1/3 + 2/15 = 7/15.
    Robust variance = (7/15) / (2/3)² = 21/20; model-based = 1 / (2/3) = 3/2.
    Baseline one-month hazard: D / S0 = 3 / (4 + 5 * 1.6) = 1/4."""
    sl = np.array([0.0] * 4 + [1.0] * 5)
    churned = np.array([1, 0, 0, 0, 1, 1, 0, 0, 0], dtype=bool)
    panel = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(9)],
            "period": pd.Timestamp("2025-01-01"),
            "churned": churned,
            "service_level": sl,
            "tenure_months": np.int64(3),
            "at_risk": True,
        }
    )
    import ibis

    for fit in (
        fit_retention(panel, model="cox", controls=()),
        fit_retention_engine(duck, ibis.memtable(panel), model="cox", controls=()),
    ):
        assert fit.params["service_level"] == pytest.approx(math.log(1.6), rel=1e-12)
        assert fit.cov_params.loc["service_level", "service_level"] == pytest.approx(21 / 20, rel=1e-9)
        assert fit.summary().loc["service_level", "hazard_ratio"] == pytest.approx(1.6, rel=1e-12)
        # churn probability at SL 0 for every row: 1 - exp(-baseline hazard) = 1 - exp(-1/4)
        assert fit.predict(0.0) == pytest.approx(1 - math.exp(-0.25), rel=1e-12)
    for fit in (
        fit_retention(panel, model="cox", controls=(), cluster=None),
        fit_retention_engine(duck, ibis.memtable(panel), model="cox", controls=(), cluster=None),
    ):
        assert fit.cov_params.loc["service_level", "service_level"] == pytest.approx(3 / 2, rel=1e-9)


def _brute_force_sandwich(panel: pd.DataFrame, beta: np.ndarray) -> np.ndarray:
    """H⁻¹ (Σ_c s_c s_cᵀ) H⁻¹ from the per-row score residuals U_i = (x_i - x̄_t)(δ_i - D_t e^{x_i b}/S0_t), one
    risk set per tenure (written out row by row, independent of statsmodels and of the grouped code)."""
    s = panel[panel["at_risk"] & panel["service_level"].notna()]
    x = np.column_stack([s["service_level"], (s["segment"].astype(str) == "smb").astype(float)])
    t, d = s["tenure_months"].to_numpy(), s["churned"].to_numpy(float)
    ids = pd.factorize(s["customer_id"])[0]
    u = np.zeros_like(x)
    hess = np.zeros((2, 2))
    for tenure in np.unique(t):
        rows = t == tenure
        if d[rows].sum() == 0:
            continue  # no event in this tenure: every residual (x - x̄)(0 - 0) is zero
        e = np.exp(x[rows] @ beta)
        xbar = e @ x[rows] / e.sum()
        big_d = d[rows].sum()
        u[rows] = (x[rows] - xbar) * (d[rows] - big_d * e / e.sum())[:, None]
        centred = x[rows] - xbar
        hess -= big_d * (centred * e[:, None]).T @ centred / e.sum()
    scores = np.zeros((ids.max() + 1, 2))
    np.add.at(scores, ids, u)
    inv = np.linalg.inv(hess)
    return inv @ (scores.T @ scores) @ inv


def test_tenures_without_churn_do_not_break_the_clustered_covariance(duck):
    """statsmodels' score residuals are NaN for rows after the last event time and keep rows of an event-free
    tenure inside a gap in the risk sets of all earlier events; those rows contribute nothing (no risk set with
    an event holds them), so both fits must equal the brute-force sandwich — with such tenures present."""
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(7)
    n_customers, months = 400, 9
    rows = []
    for c in range(n_customers):
        seg = "smb" if c % 3 == 0 else "home"
        for m in range(months):
            sl = float(rng.choice([0.0, 0.5, 1.0]))
            p = 0.0 if m in (4, 8) else 0.08 * (1.5 - sl)  # no churn in tenure 4 (a gap) nor 8 (the last)
            churn = bool(rng.random() < p)
            rows.append((f"c{c}", pd.Timestamp("2024-01-01") + pd.DateOffset(months=m), churn, sl, m, seg))
            if churn:
                break
    panel = pd.DataFrame(
        rows, columns=["customer_id", "period", "churned", "service_level", "tenure_months", "segment"]
    )
    panel["at_risk"] = True
    events = panel.groupby("tenure_months")["churned"].sum()
    assert events[4] == 0 and events[8] == 0 and (events.drop([4, 8]) > 0).all()
    s = panel
    t = s["tenure_months"].to_numpy(float)
    x = np.column_stack([s["service_level"], (s["segment"] == "smb").astype(float)])
    naive = PHReg(t + 1, x, status=s["churned"].to_numpy(float), entry=t + 0.5, ties="breslow").fit(
        groups=pd.factorize(s["customer_id"])[0]
    )
    assert np.isnan(np.diag(naive.cov_params())).all()  # why the pandas path leaves such rows out of PHReg
    import ibis

    pandas_fit = fit_retention(panel, model="cox")
    engine_fit = fit_retention_engine(duck, ibis.memtable(panel), model="cox")
    np.testing.assert_allclose(pandas_fit.params.to_numpy(), naive.params, rtol=1e-9)  # estimates unaffected
    reference = _brute_force_sandwich(panel, pandas_fit.params.to_numpy())
    np.testing.assert_allclose(pandas_fit.cov_params.to_numpy(), reference, rtol=1e-9)
    _assert_same_fit(engine_fit, pandas_fit)


def test_engine_rejects_an_unknown_model(duck, panels):
    with pytest.raises(InputValueError, match="'logit' or 'cox'"):
        fit_retention_engine(duck, panels[1], model="probit")  # type: ignore[arg-type]
