"""Time maturity: a metric that needs later data is incomplete for the months that cannot be observed yet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework import load_config, score
from cx_framework.errors import InputValueError
from cx_framework.maturity import (
    INCOMPLETE,
    complete_through,
    incomplete_mask,
    latest_complete_period,
    maturity_table,
    metric_lags,
    observed_through,
)

ROOT = Path(__file__).resolve().parent.parent
CFG = load_config(ROOT / "configs")
MONTHS = pd.date_range("2025-01-01", periods=6, freq="MS")


def _dm(metrics: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        (p, "contact_centre", None, metric, v, 100.0)
        for metric, values in metrics.items()
        for p, v in zip(MONTHS, values, strict=True)
    ]
    return pd.DataFrame(rows, columns=["period", "department", "team", "metric", "value", "volume"])


def test_catalogue_lags_of_metrics_needing_later_data():
    lags = metric_lags(CFG)
    assert lags["churn_rate"] == 1 and lags["e2e_resolution"] == 1 and lags["fcr"] == 1
    assert lags["service_level"] == 0 and lags["aht_s"] == 0


def test_latest_complete_period_steps_back_by_the_largest_lag_present():
    only_sl = _dm({"service_level": [0.8] * 6})
    assert latest_complete_period(only_sl, CFG) == MONTHS[-1]  # SL is final when the month ends
    with_churn = _dm({"service_level": [0.8] * 6, "churn_rate": [0.014] * 6})
    assert latest_complete_period(with_churn, CFG) == MONTHS[-2]
    assert latest_complete_period(with_churn, CFG, metrics=["service_level"]) == MONTHS[-1]
    # a tables mapping: the later of department_metrics / employee_metrics is the last observed month
    em = pd.DataFrame({"period": [MONTHS[-1] + pd.DateOffset(months=1)], "metric": ["aht_s"]})
    assert observed_through({"department_metrics": with_churn, "employee_metrics": em}) == pd.Timestamp(
        "2025-07-01"
    )
    assert (
        latest_complete_period({"department_metrics": with_churn, "employee_metrics": em}, CFG) == MONTHS[-1]
    )


def test_latest_complete_period_never_before_first_month():
    one = _dm({"churn_rate": [0.01] * 6}).head(1)
    assert latest_complete_period(one, CFG) == MONTHS[0]


def test_incomplete_mask_and_complete_through():
    dm = _dm({"service_level": [0.8] * 6, "churn_rate": [0.014] * 6})
    mask = incomplete_mask(dm, CFG)
    # only churn of the last month cannot be observed yet
    assert mask.sum() == 1
    assert dm.loc[mask, "metric"].item() == "churn_rate" and dm.loc[mask, "period"].item() == MONTHS[-1]
    assert complete_through("churn_rate", MONTHS[-1], CFG) == MONTHS[-2]
    table = maturity_table(dm, CFG).set_index("metric")
    assert table.loc["churn_rate", "incomplete_from"] == MONTHS[-1]


def test_no_periods_is_a_clear_error():
    with pytest.raises(InputValueError, match="department_metrics"):
        observed_through({})


def test_scorecard_shows_incomplete_month_as_incomplete_never_as_good():
    # churn falls to 0.5 % in the last month only because next-month cancellations are not in yet: that month
    # must not be scored (it would be green at stretch), and its composite is incomplete too
    dm = _dm({"churn_rate": [0.016, 0.015, 0.016, 0.015, 0.016, 0.005], "service_level": [0.8] * 6})
    r = score(dm, CFG)
    ms = r.metric_scores
    last = ms[
        ms["period"].eq(MONTHS[-1]) & ms["metric"].eq("churn_rate") & ms["department"].eq("organisation")
    ]
    assert (last["status"] == INCOMPLETE).all() and last["score"].isna().all()
    before = ms[
        ms["period"].eq(MONTHS[-2]) & ms["metric"].eq("churn_rate") & ms["department"].eq("organisation")
    ]
    assert before["status"].ne(INCOMPLETE).all() and before["score"].notna().all()
    sl = ms[ms["period"].eq(MONTHS[-1]) & ms["metric"].eq("service_level")]
    assert sl["status"].ne(INCOMPLETE).all()
    org = r.shared_scores[r.shared_scores["department"].eq("organisation")].set_index("period")
    assert org.loc[MONTHS[-1], "status"] == INCOMPLETE and np.isnan(org.loc[MONTHS[-1], "composite"])
    assert org.loc[MONTHS[-2], "status"] != INCOMPLETE
    # the drill-down says the same
    dd = r.drill_down("churn_rate", MONTHS[-1], by="department")
    assert (dd["status"] == INCOMPLETE).all()
    # an incomplete value is not a control-chart point (no false "improvement" signal)
    assert not r.control[r.control["metric"].eq("churn_rate")]["period"].eq(MONTHS[-1]).any()


def test_sample_default_month_is_complete(sample_org):
    assert latest_complete_period(sample_org.tables(), CFG) == pd.Timestamp(
        sample_org.department_metrics["period"].max()
    ) - pd.DateOffset(months=1)
