"""Synthetic organisation: determinism, consistency between tables, validity, planted truth visible in raw data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cx_framework.errors import InputValueError
from cx_framework.schemas import validate
from cx_framework.synthetic import SyntheticOrg, Truth, generate_organisation, load_sample


@pytest.fixture(scope="module")
def tiny() -> SyntheticOrg:
    return generate_organisation(seed=7, customers=1_500, employees=80, months=6)


def test_deterministic_per_seed(tiny: SyntheticOrg) -> None:
    again = generate_organisation(seed=7, customers=1_500, employees=80, months=6)
    for name, frame in tiny.tables().items():
        pd.testing.assert_frame_equal(frame, getattr(again, name), obj=name)
    other = generate_organisation(seed=8, customers=1_500, employees=80, months=6)
    assert not tiny.contacts["wait_s"].equals(other.contacts["wait_s"])


def test_every_table_is_valid(tiny: SyntheticOrg) -> None:
    for name, frame in tiny.tables().items():
        validate(name, frame)


def test_phone_contacts_roll_up_exactly_to_intervals(tiny: SyntheticOrg) -> None:
    phone = tiny.contacts[tiny.contacts["channel"] == "phone"].copy()
    phone["interval_start"] = phone["timestamp"].dt.floor("30min")
    phone["within"] = ~phone["abandoned"] & (phone["wait_s"] <= 20)
    agg = phone.groupby(["interval_start", "queue"]).agg(
        offered=("contact_id", "size"), abandoned=("abandoned", "sum"), within=("within", "sum")
    )
    iv = tiny.intervals.set_index(["interval_start", "queue"]).loc[agg.index]
    np.testing.assert_array_equal(iv["offered"], agg["offered"])
    np.testing.assert_array_equal(iv["abandoned"], agg["abandoned"])
    np.testing.assert_array_equal(iv["answered_within_threshold"], agg["within"])
    # intervals without calls exist and are empty, so totals match too
    assert tiny.intervals["offered"].sum() == len(phone)


def test_employee_metrics_roll_up_to_team_rows(tiny: SyntheticOrg) -> None:
    em = tiny.employee_metrics.merge(tiny.employees[["employee_id", "department", "team"]], on="employee_id")
    dm = tiny.department_metrics.dropna(subset=["team"]).set_index(["period", "team", "metric"])
    # product_sales aggregates by sum
    sales = em[em["metric"] == "product_sales"].groupby(["period", "team"])["value"].sum()
    got = dm.xs("product_sales", level="metric")["value"].loc[sales.index]
    np.testing.assert_allclose(got.to_numpy(), sales.to_numpy())
    # fcr is a ratio: sum(value*volume)/sum(volume), never the mean of percentages
    f = em[em["metric"] == "fcr"].assign(wv=lambda d: d["value"] * d["volume"])
    g = f.groupby(["period", "team"])[["wv", "volume"]].sum()
    got = dm.xs("fcr", level="metric")["value"].loc[g.index]
    np.testing.assert_allclose(got.to_numpy(), (g["wv"] / g["volume"]).to_numpy(), rtol=1e-9)


def test_churn_never_before_start_and_contacts_only_while_active(tiny: SyntheticOrg) -> None:
    cu = tiny.customers.set_index("customer_id")
    assert (cu["churn_date"].dropna() >= cu.loc[cu["churn_date"].notna(), "start_date"]).all()
    c = tiny.contacts.merge(cu, left_on="customer_id", right_index=True)
    assert (c["timestamp"] >= c["start_date"].dt.to_period("M").dt.to_timestamp()).all()
    churned = c[c["churn_date"].notna()]
    assert (churned["timestamp"] < churned["churn_date"] + pd.offsets.MonthBegin(1)).all()


def test_planted_sl_churn_effect_visible_in_raw_data(sample_org: SyntheticOrg) -> None:
    """A direct logit on raw contacts recovers the planted SL effect (last month has no observable churn)."""
    phone = sample_org.contacts[sample_org.contacts["channel"] == "phone"].copy()
    phone["period"] = phone["timestamp"].dt.to_period("M").dt.to_timestamp()
    phone["within"] = ~phone["abandoned"] & (phone["wait_s"] <= 20)
    g = phone.groupby(["customer_id", "period"])["within"].mean().reset_index()
    g = g[g["period"] < g["period"].max()]
    cu = sample_org.customers.set_index("customer_id")
    nxt = g["period"] + pd.offsets.MonthBegin(1)
    cd = g["customer_id"].map(cu["churn_date"])
    y = ((cd >= nxt) & (cd < nxt + pd.offsets.MonthBegin(1))).astype(float)
    x = pd.get_dummies(g["customer_id"].map(cu["segment"]), drop_first=True, dtype=float)
    x.insert(0, "sl", g["within"].to_numpy())
    fit = sm.Logit(y.to_numpy(), sm.add_constant(x).to_numpy()).fit(disp=0)
    lo, hi = fit.conf_int()[1]
    truth = sample_org.truth.sl_churn_log_odds
    assert lo - 0.05 < truth < hi + 0.05, (lo, hi, truth)


def test_failure_demand_shares_and_dominant_source(sample_org: SyntheticOrg, config) -> None:
    reasons = config.failure_demand.by_id
    origin = sample_org.contacts["reason"].map(
        {r: v.originating_department for r, v in reasons.items() if v.is_failure}
    )
    shares = origin.value_counts() / len(sample_org.contacts)
    n = len(sample_org.contacts)
    for dept, share in sample_org.truth.failure_demand_shares.items():
        se = np.sqrt(share * (1 - share) / n)
        assert abs(shares[dept] - share) < 6 * se + 0.01, dept
    assert shares.idxmax() == sample_org.truth.dominant_failure_source


def test_aht_gaming_lowers_fcr_and_sales_keep_back_office_off_phones(sample_org: SyntheticOrg) -> None:
    em = sample_org.employee_metrics.merge(sample_org.employees[["employee_id", "role", "department"]])
    wide = em.pivot_table(
        index=["period", "employee_id", "role"], columns="metric", values="value"
    ).reset_index()
    agents = wide[wide["role"] == "agent"].groupby("employee_id")[["aht_s", "fcr"]].mean()
    slope = np.polyfit(agents["aht_s"], agents["fcr"], 1)[0]
    assert slope > 0.5 * sample_org.truth.aht_fcr_slope
    bo = wide[wide["role"].isin(["billing_specialist", "fulfilment_specialist"])]
    assert np.corrcoef(bo["product_sales"], bo["calls_taken"])[0, 1] < -0.2


def test_sample_loads_and_matches_truth_file(sample_org: SyntheticOrg) -> None:
    assert isinstance(sample_org.truth, Truth)
    assert sample_org.truth.misaligned_departments == ("billing", "sales")
    assert len(sample_org.customers) == 12_000
    assert Truth.from_json(sample_org.truth.to_json()) == sample_org.truth


def test_write_round_trip(tmp_path, tiny: SyntheticOrg) -> None:
    tiny.write(tmp_path)
    back = load_sample(tmp_path)
    for name, frame in tiny.tables().items():
        assert len(getattr(back, name)) == len(frame), name
    assert back.truth == tiny.truth


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"customers": 10}, "customers"),
        ({"employees": 3}, "employees"),
        ({"months": 1}, "months"),
        ({"scheme": "bogus"}, "scheme"),
    ],
)
def test_bad_arguments(kwargs, argument) -> None:
    with pytest.raises(InputValueError, match=argument):
        generate_organisation(**kwargs)


# ------------------------------------------------------------------------- no end-of-window artefact (issue 12)
def _active_at_month_starts(org: SyntheticOrg) -> pd.Series:
    cu = org.customers
    periods = pd.DatetimeIndex(sorted(org.department_metrics["period"].unique()))
    return pd.Series(
        [
            ((cu["start_date"] < p) & (cu["churn_date"].isna() | (cu["churn_date"] >= p))).sum()
            for p in periods
        ],
        index=periods,
    )


def test_customer_base_is_steady_to_the_end(sample_org: SyntheticOrg) -> None:
    """Customers join all through the window at about the churn rate: the last months are not the emptiest."""
    active = _active_at_month_starts(sample_org).iloc[
        1:
    ]  # month 1 still fills with the window's first joiners
    first_year, second_year = active.iloc[:11].mean(), active.iloc[11:].mean()
    assert abs(second_year / first_year - 1) < 0.03, active
    assert active.iloc[-1] > active.min()  # the final month is not the low point
    joined = sample_org.customers["start_date"] >= active.index.min()
    assert sample_org.customers.loc[joined, "start_date"].max() >= active.index.max()  # joiners up to the end


def test_daily_contact_volume_does_not_depend_on_month_length(sample_org: SyntheticOrg) -> None:
    """Contact rates are per average month: a 31-day month gets proportionally more contacts, not fewer per day."""
    month = sample_org.contacts["timestamp"].dt.to_period("M").dt.to_timestamp()
    per_month = month.value_counts().sort_index().iloc[1:]
    active = _active_at_month_starts(sample_org).loc[per_month.index]
    per_day = per_month / active / per_month.index.days_in_month
    long_months = per_day[per_month.index.days_in_month == 31].mean()
    february = per_day[per_month.index.month == 2].mean()
    # contacts per active customer and day: 31-day months vs February (a fixed monthly count gives 28/31 = 0.90)
    assert long_months / february == pytest.approx(1.0, abs=0.03)


def test_misaligned_departments_green_inside_red_outside(sample_org: SyntheticOrg) -> None:
    """Under the siloed scheme billing and sales chase their own numbers every month: in most months their own card
    is green while their customers' (shared) card is red, which no aligned department shows as often."""
    from cx_framework.scorecard import score

    result = score(sample_org.department_metrics, Path(__file__).resolve().parent.parent / "configs")
    d = result.department_scores.assign(
        split=lambda f: f["status"].eq("green") & f["shared_status"].eq("red"),
        gap=lambda f: f["composite"] - f["shared_composite"],
    )
    per = d.groupby("department").agg(
        split=("split", "sum"), gap=("gap", "mean"), flagged=("green_inside_red_outside", "sum")
    )
    bad = list(sample_org.truth.misaligned_departments)
    good = [x for x in per.index if x not in bad]
    months = sample_org.department_metrics["period"].nunique()
    assert (per.loc[bad, "split"] >= months // 3).all(), per
    assert per.loc[bad, "split"].min() > per.loc[good, "split"].max(), per
    # own card above the customers' card by more in the misaligned departments than in any aligned one
    assert per.loc[bad, "gap"].min() > per.loc[good, "gap"].max(), per
    # sales (no declared contribution: judged on its whole shared card) is flagged by the scorecard itself
    assert per.loc["sales", "flagged"] >= months // 5, per
    assert per.loc[["contact_centre", "marketing"], "flagged"].eq(0).all(), per


# ------------------------------------------------------------------------------------- streaming (issue 14.3)
def test_written_organisation_equals_the_in_memory_one(tmp_path, tiny: SyntheticOrg, monkeypatch) -> None:
    """``write_organisation`` (what ``cx generate`` runs) writes exactly the tables ``generate_organisation``
    returns, in however many pieces the contacts are formatted, with microsecond Parquet timestamps (Spark)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import cx_framework.synthetic as synthetic

    monkeypatch.setattr(synthetic, "_WRITE_ROWS", 997)  # many pieces per month, each its own row group
    rows = synthetic.write_organisation(tmp_path, seed=7, customers=1_500, employees=80, months=6)
    back = load_sample(tmp_path)
    assert back.truth == tiny.truth
    for name, frame in tiny.tables().items():
        assert rows[name] == len(frame), name
        pd.testing.assert_frame_equal(getattr(back, name), validate(name, frame), obj=name)
        schema = pq.read_schema(tmp_path / f"{name}.parquet")
        times = [f for f in schema if pa.types.is_timestamp(f.type)]
        assert all(f.type.unit == "us" for f in times), (name, times)
    assert pq.ParquetFile(tmp_path / "contacts.parquet").metadata.num_row_groups > 6
    assert not list(tmp_path.glob(".*.tmp"))  # temporary files renamed into place


def test_ids_widen_past_their_fixed_width() -> None:
    """Ids keep ``zfill`` semantics when a run outgrows the width (the 100,000,000th contact of a big run)."""
    from cx_framework.synthetic import _ids, _sequential_ids

    numbers = np.array([0, 7, 99_999_999, 100_000_000, 123_456_789_012, 42])
    expected = [f"K{n:08d}" for n in numbers]
    assert _ids("K", numbers, 8).tolist() == expected
    assert _sequential_ids("K", 4, 8, first=99_999_998).tolist() == [
        "K99999998",
        "K99999999",
        "K100000000",
        "K100000001",
    ]
