"""Tests of cx_framework.economics: staffing cost by hand, the optimum by brute force on a known dose-response,
and the full pipeline on the committed sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cx_framework.economics import optimal_service_level, staffing_cost_curve
from cx_framework.errors import DataValidationError, InputValueError
from cx_framework.retention import build_customer_panel, fit_retention, lifetime_margin_pv
from cx_framework.staffing import agents_needed


class _KnownRetention:
    """Stand-in retention result with a known, certain dose-response: churn = 0.05 - 0.04 * SL per month."""

    nobs, n_periods = 12_000, 12  # 1,000 exposed customers per month

    @staticmethod
    def _p(grid):
        return 0.05 - 0.04 * np.asarray(grid, dtype=float)

    def dose_response(self, grid):
        return pd.DataFrame({"exposure": grid, "churn_probability": self._p(grid)})

    def simulate_dose_response(self, grid, *, n_draws, seed):
        return np.tile(self._p(grid), (n_draws, 1))


def _forecast(calls=(100.0, 0.0, 60.0), aht=(180.0, 200.0, 240.0)) -> pd.DataFrame:
    starts = pd.date_range("2025-01-06 09:00", periods=len(calls), freq="30min")
    return pd.DataFrame({"interval_start": starts, "queue": "general", "offered": calls, "aht_s": aht})


def test_staffing_cost_curve_hand_worked(config):
    econ = config.economics  # cost 28 / paid hour, shrinkage 0.32, 37.5 h per FTE week
    curve = staffing_cost_curve(_forecast(), econ, targets=[0.8], interval_s=1800)
    # agents_needed(100 calls, 180 s) = 14 (DESIGN.md / staffing docstring example); 0 calls -> 0 agents
    a3 = int(agents_needed(60, 240, target=0.8, answer_s=econ.answer_s, interval_s=1800))
    agent_hours = (14 + 0 + a3) * 0.5
    paid = agent_hours / (1 - 0.32)
    assert curve["agent_hours"].iloc[0] == pytest.approx(agent_hours)
    assert curve["paid_hours"].iloc[0] == pytest.approx(paid)
    assert curve["staffing_cost"].iloc[0] == pytest.approx(paid * 28.0)
    weeks = 3 * 1800 / (7 * 86_400)  # three half-hour intervals
    assert curve["fte"].iloc[0] == pytest.approx(paid / (weeks * 37.5))


def test_optimum_equals_brute_force_on_known_dose_response(config):
    econ = config.economics
    forecast = _forecast()
    targets = np.round(np.arange(0.50, 0.991, 0.01), 2)
    result = optimal_service_level(
        forecast,
        _KnownRetention(),
        pd.DataFrame({"monthly_revenue": [40.0, 60.0], "churn_date": [None, None]}),
        econ,
        targets=targets,
        n_draws=20,
    )
    cost = staffing_cost_curve(forecast, econ, targets=targets)
    horizon = cost.attrs["horizon_months"]  # 1.5 hours as a share of an average month
    assert horizon == pytest.approx(5400 / (86_400 * 365.25 / 12))
    pv = lifetime_margin_pv(
        50.0,
        margin=econ.margin,
        lifetime_months=econ.customer_lifetime_months,
        discount_rate_annual=econ.discount_rate_annual,
    )
    # churners avoided vs 50% = 0.04 * (t - 0.5) * 1000 customers/month * horizon months, each worth pv
    retained = 0.04 * (targets - 0.5) * 1000 * horizon * pv
    net = retained - (cost["staffing_cost"].to_numpy() - cost["staffing_cost"].iloc[0])
    np.testing.assert_allclose(result.curve["net_value"], net, rtol=1e-9, atol=1e-6)
    assert result.optimum == pytest.approx(targets[np.argmax(net)])
    assert result.optimum_lower == result.optimum_upper == result.optimum  # no uncertainty in the stand-in
    assert result.convention == pytest.approx(0.80)
    assert result.net_gain_vs_convention == pytest.approx(net.max() - net[targets == 0.8][0])
    assert result.curve["p_best"].sum() == pytest.approx(1.0)


def test_optimum_moves_up_when_customers_are_worth_more(config):
    econ = config.economics
    forecast = _forecast(calls=(300.0, 280.0, 320.0), aht=(300.0, 300.0, 300.0))
    cheap = optimal_service_level(
        forecast, _KnownRetention(), pd.DataFrame({"monthly_revenue": [5.0]}), econ, n_draws=10
    )
    dear = optimal_service_level(
        forecast, _KnownRetention(), pd.DataFrame({"monthly_revenue": [50_000.0]}), econ, n_draws=10
    )
    assert dear.optimum > cheap.optimum
    assert dear.optimum == pytest.approx(0.99)  # value dwarfs cost: the top of the grid


def test_optimal_service_level_on_sample(sample_org, config):
    panel = build_customer_panel(sample_org.contacts, sample_org.customers)
    fitted = fit_retention(panel, controls=("segment",))
    intervals = sample_org.intervals
    last = intervals[
        intervals["interval_start"] >= intervals["interval_start"].dt.to_period("M").max().to_timestamp()
    ]
    result = optimal_service_level(last, fitted, sample_org.customers, config, n_draws=200, seed=3)
    curve = result.curve
    assert curve["net_value"].iloc[0] == 0 and curve["retained_value"].iloc[0] == 0
    assert np.all(np.diff(curve["staffing_cost"]) >= 0)  # more SL never costs less
    assert np.all(np.diff(curve["churners"]) < 0)  # planted effect: better SL, fewer churners
    assert result.optimum_lower <= result.optimum <= result.optimum_upper
    assert (curve["net_value_lower"] <= curve["net_value"] + 1e-9).all()
    assert (curve["net_value"] <= curve["net_value_upper"] + 1e-9).all()
    assert "association, not causation" in result.explain()
    # same seed, same answer
    again = optimal_service_level(last, fitted, sample_org.customers, config, n_draws=200, seed=3)
    assert again.optimum_upper == result.optimum_upper


def test_optimal_service_level_bad_input(config):
    with pytest.raises(InputValueError, match="targets"):
        optimal_service_level(
            _forecast(),
            _KnownRetention(),
            pd.DataFrame({"monthly_revenue": [1.0]}),
            config,
            targets=[0.5, 1.2],
        )
    with pytest.raises(DataValidationError, match="aht_s"):
        optimal_service_level(
            _forecast().drop(columns="aht_s"),
            _KnownRetention(),
            pd.DataFrame({"monthly_revenue": [1.0]}),
            config,
        )
    with pytest.raises(DataValidationError, match="monthly_revenue"):
        optimal_service_level(_forecast(), _KnownRetention(), pd.DataFrame({"x": [1.0]}), config)
