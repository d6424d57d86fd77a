"""CustomerBase (customers grouped by start and churn month): every number the churn economics read from the
customers table is the same from the groups (hand-worked example, the committed sample) and from DuckDB's groups.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cx_framework.analysis.core import SAMPLE_DIR
from cx_framework.conflicts.behaviour import _active_customers
from cx_framework.engine import connect, customer_base_groups, validate_table
from cx_framework.errors import DataValidationError
from cx_framework.io import load_data_dir
from cx_framework.retention import CustomerBase, monthly_sl_and_churn
from cx_framework.retention.customer_base import NOT_CHURNED
from cx_framework.retention.value import _mean_revenue


def _hand() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "start_date": pd.to_datetime(
                ["2024-01-05", "2024-02-01", "2024-02-20", "2024-03-31", "2024-01-10"]
            ),
            "churn_date": pd.to_datetime([None, "2024-03-15", None, None, "2024-02-29"]),
            "monthly_revenue": [10.0, 20.0, np.nan, 40.0, 80.0],
        }
    )


def test_hand_worked_groups_and_answers():
    base = CustomerBase.from_table(_hand())
    g = base.groups
    jan, feb, mar = 648, 649, 650  # months since 1970-01
    assert list(zip(g["start_month"], g["churn_month"], g["customers"], strict=True)) == [
        (jan, feb, 1),  # e
        (jan, NOT_CHURNED, 1),  # a
        (feb, mar, 1),  # b
        (feb, NOT_CHURNED, 1),  # c (revenue unknown)
        (mar, NOT_CHURNED, 1),  # d
    ]
    assert g["revenue_n"].tolist() == [1, 1, 1, 0, 1]
    # active (no churn date): a, c, d -> known revenues 10 and 40 -> 25
    assert base.churner_revenue() == 25.0 == _mean_revenue(_hand())
    # active in 2024-03: started by 31 March, not churned before 1 March: a, b, c, d -> (10 + 20 + 40) / 3
    assert base.active_at(pd.Timestamp("2024-03-01")) == (4, 70.0 / 3)
    assert _active_customers(_hand(), pd.Timestamp("2024-03-01")) == (4, pytest.approx(70.0 / 3, rel=1e-15))
    # active in 2024-02: a, b, c, e (e churns on 29 Feb) -> (10 + 20 + 80) / 3
    assert base.active_at(pd.Timestamp("2024-02-01")) == (4, 110.0 / 3)
    # end of Jan: a, e active; e churns in Feb. End of Feb: a, b, c; b churns in March
    active, churned = base.active_and_churned_next(np.array([jan, feb]))
    assert active.tolist() == [2, 3] and churned.tolist() == [1, 1]
    with pytest.raises(ValueError, match="first day of a month"):
        base.active_at(pd.Timestamp("2024-03-02"))


def test_everyone_churned_and_no_revenue():
    frame = _hand().assign(churn_date=pd.Timestamp("2024-06-01"))
    # nobody active: the churner is valued at the mean of all known revenues, as on the table
    assert CustomerBase.from_table(frame).churner_revenue() == _mean_revenue(frame) == 37.5
    with pytest.raises(DataValidationError, match="monthly_revenue"):
        CustomerBase.from_table(_hand().assign(monthly_revenue=np.nan)).churner_revenue()


@pytest.fixture(scope="module")
def sample():
    return load_data_dir(SAMPLE_DIR, ["customers", "intervals"])


def test_sample_from_the_engine_equals_the_table(sample):
    customers = sample["customers"]
    base = CustomerBase.from_table(customers)
    with connect("duckdb", threads=1) as engine:
        table = validate_table(engine, "customers", customers)
        from_engine = CustomerBase.from_groups(customer_base_groups(engine, table))
    pd.testing.assert_frame_equal(base.groups, from_engine.groups, check_exact=False, rtol=1e-12)
    assert base.n_customers == len(customers)
    assert math.isclose(base.churner_revenue(), _mean_revenue(customers), rel_tol=1e-12)
    for month in pd.date_range("2024-01-01", "2025-12-01", freq="MS"):
        n, revenue = base.active_at(month)
        n_table, revenue_table = _active_customers(customers, month)
        assert n == n_table and math.isclose(revenue, revenue_table, rel_tol=1e-12)
    pd.testing.assert_frame_equal(
        monthly_sl_and_churn(sample["intervals"], base),
        monthly_sl_and_churn(sample["intervals"], customers),
        check_dtype=False,
    )
