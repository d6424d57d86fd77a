"""The customer-month Cox fit against an independent fit on public data (Rossi recidivism, tests/data/README.md).

The panel Cox model enters each customer-month as a (t, t+1] interval. Expanding the Rossi data to person-weeks in
the same way and fitting through :func:`fit_retention` must give the coefficients of the plain Breslow Cox fit of
the original one-row-per-person frame (statsmodels ``PHReg`` without entry times, so the risk-set handling under
test is not involved in the reference) — to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.retention import fit_retention

ROSSI = Path(__file__).parent / "data" / "rossi.csv"
COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    frame = pd.read_csv(ROSSI)
    assert frame.shape == (432, 9) and int(frame["arrest"].sum()) == 114  # the published data set
    return frame


def _person_periods(rossi: pd.DataFrame) -> pd.DataFrame:
    """One row per person and week at risk: tenure t = 0..week-1, event in the row whose (t, t+1] holds it."""
    rows = rossi.loc[rossi.index.repeat(rossi["week"])]
    tenure = rows.groupby(level=0).cumcount().to_numpy()
    out = rows[COVARIATES].reset_index(drop=True)
    out["customer_id"] = rows.index.astype(str).to_numpy()
    out["tenure_months"] = tenure
    out["period"] = pd.to_datetime(
        pd.DataFrame({"year": 2000 + tenure // 12, "month": tenure % 12 + 1, "day": 1})
    )
    out["churned"] = (rows["arrest"].to_numpy() == 1) & (tenure + 1 == rows["week"].to_numpy())
    return out


def _reference(rossi: pd.DataFrame) -> np.ndarray:
    from statsmodels.duration.hazard_regression import PHReg

    fit = PHReg(
        rossi["week"].to_numpy(float),
        rossi[COVARIATES].to_numpy(float),
        status=rossi["arrest"].to_numpy(float),
        ties="breslow",
    ).fit()
    return np.asarray(fit.params)


def test_panel_cox_equals_breslow_fit_of_the_original_frame(rossi: pd.DataFrame) -> None:
    panel = _person_periods(rossi)
    assert len(panel) == int(rossi["week"].sum()) and int(panel["churned"].sum()) == 114
    result = fit_retention(panel, exposure="fin", controls=tuple(COVARIATES[1:]), model="cox", cluster=None)
    reference = _reference(rossi)
    np.testing.assert_allclose(result.params.to_numpy(), reference, rtol=0, atol=1e-6)
    # the known Breslow estimates for these data (financial aid lowers the arrest hazard, priors raise it)
    assert result.params.iloc[0] < 0  # the exposure column (fin) comes first
    assert reference[COVARIATES.index("prio")] == pytest.approx(0.0915, abs=5e-4)


def test_panel_cox_with_clustered_errors_keeps_the_coefficients(rossi: pd.DataFrame) -> None:
    panel = _person_periods(rossi)
    robust = fit_retention(panel, exposure="fin", controls=tuple(COVARIATES[1:]), model="cox")
    np.testing.assert_allclose(robust.params.to_numpy(), _reference(rossi), rtol=0, atol=1e-6)
