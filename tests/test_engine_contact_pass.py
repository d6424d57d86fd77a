"""The shared contact pass (one sort of the contacts for the customer panel and failure demand) gives exactly
what the separate passes and the pandas functions give: on the committed sample, on hand-made edge cases (contacts
outside the customer's life right before an inside one, ties on the timestamp), with unknown customers (failure
demand falls back to its own pass) and with the text root key (a table without file rows)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.config import load_config
from cx_framework.engine import connect, customer_panel, validate_table
from cx_framework.engine.contact_pass import contact_pass
from cx_framework.engine.failure_demand import failure_demand_groups
from cx_framework.errors import DataValidationError, StatisticalWarning

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SUMS = [
    "contacts",
    "calls",
    "answered_within_threshold",
    "abandoned",
    "repeat_contacts",
    "unresolved_contacts",
]


@pytest.fixture(scope="module")
def duck():
    with connect("duckdb", threads=2) as engine:
        yield engine


@pytest.fixture(scope="module")
def reasons():
    fd = load_config("configs").failure_demand
    return {r.id: (r.is_failure, r.originating_department) for r in fd.reasons}


def _panel_frame(engine, panel) -> pd.DataFrame:
    got = engine.execute(panel.drop("customer_key"))
    return got.sort_values(["customer_id", "period"]).reset_index(drop=True)


def _both(engine, contacts, customers, reasons, window=7.0):
    """(separate panel, shared panel, separate FD, shared FD, the pass)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        separate = _panel_frame(engine, customer_panel(engine, contacts, customers))
        alone = failure_demand_groups(engine, contacts, reasons, repeat_window_days=window)
        shared = contact_pass(engine, contacts, customers, repeat_window_days=window)
        fd = failure_demand_groups(engine, contacts, reasons, repeat_window_days=window, shared=shared)
        panel = _panel_frame(engine, customer_panel(engine, contacts, customers, shared=shared))
    return separate, panel, alone, fd, shared


def test_shared_pass_on_the_sample_equals_separate_passes_and_pandas(duck, reasons):
    from cx_framework.io import load_data_dir
    from cx_framework.retention import build_customer_panel

    contacts = validate_table(duck, "contacts", SAMPLE / "contacts.parquet")
    customers = validate_table(duck, "customers", SAMPLE / "customers.parquet")
    separate, panel, alone, fd, shared = _both(duck, contacts, customers, reasons)
    assert shared.failure_demand_fine(7.0) is not None  # the shared result was used, not a fallback
    pd.testing.assert_frame_equal(separate, panel)
    pd.testing.assert_frame_equal(alone.groups, fd.groups)
    pd.testing.assert_frame_equal(alone.top_chains, fd.top_chains)
    tables = load_data_dir(SAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        pandas_panel = build_customer_panel(tables["contacts"], tables["customers"])
    for column in SUMS:
        np.testing.assert_array_equal(
            pandas_panel[column].to_numpy(), panel[column].to_numpy(), err_msg=column
        )
    assert panel["repeat_contacts"].sum() > 0 and (fd.groups["demand_type"] == "repeat").any()


def _hand_made():
    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2024-03-01 09:00")
    rows = [
        # id, customer, time, reason, resolved
        ("K1", "C1", t0 - 2 * day, "bill_query", False),  # before C1's start month: outside its life
        ("K2", "C1", t0, "new_order", False),  # inside; FD: repeat of K1; panel: first inside -> no repeat
        ("K3", "C1", t0 + day, "bill_query", True),  # both: repeat
        (
            "K4",
            "C1",
            t0 + day,
            "new_order",
            False,
        ),  # tie with K3 (later in file): FD root K3 resolved -> root
        ("K5", "C2", t0, "new_order", False),
        ("K6", "C2", t0 + 20 * day, "bill_query", False),  # outside the window: root, not a panel repeat
        ("K7", "C2", t0 + 21 * day, "cancel_request", True),  # repeat in both
    ]
    contacts = pd.DataFrame(
        {
            "contact_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "channel": "phone",
            "queue": "billing",
            "reason": [r[3] for r in rows],
            "wait_s": 10.0,
            "handle_s": 300.0,
            "abandoned": False,
            "resolved_first_contact": [r[4] for r in rows],
            "agent_id": "A1",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "segment": "consumer",
            "product": "broadband",
            "start_date": pd.to_datetime(["2024-03-01", "2024-01-15"]),
            "churn_date": pd.to_datetime([None, None]),
            "monthly_revenue": 40.0,
        }
    )
    return contacts, customers


def test_shared_pass_on_edge_cases_equals_pandas(duck, reasons):
    from cx_framework.failure_demand import attribute_failure_demand
    from cx_framework.retention import build_customer_panel

    contacts, customers = _hand_made()
    con = validate_table(duck, "contacts", contacts)
    cus = validate_table(duck, "customers", customers)
    separate, panel, alone, fd, shared = _both(duck, con, cus, reasons)
    assert shared.failure_demand_fine(7.0) is not None
    pd.testing.assert_frame_equal(separate, panel)
    pd.testing.assert_frame_equal(alone.groups, fd.groups)
    # panel repeats: K3, K4 (C1, March: K2 is the first contact inside), K7 (C2) -> 3; K1 is outside
    assert int(panel["repeat_contacts"].sum()) == 3 and int(panel["contacts"].sum()) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        pandas_panel = build_customer_panel(contacts, customers)
    for column in SUMS:
        np.testing.assert_array_equal(
            pandas_panel[column].to_numpy(), panel[column].to_numpy(), err_msg=column
        )
    # failure demand: repeats K2 (of K1), K3 (of K2), K7 (of K6); K4 follows the resolved K3 -> a root
    repeats = fd.groups[fd.groups["demand_type"] == "repeat"]
    assert int(repeats["contacts"].sum()) == 3
    assert repeats.groupby("root_reason")["contacts"].sum().to_dict() == {"bill_query": 3}
    config = load_config("configs")
    pandas_fd = attribute_failure_demand(contacts, config, economics=config.economics)
    classes = pandas_fd.classification
    assert classes is not None
    pandas_repeats = classes[classes["demand_type"] == "repeat"]
    assert pandas_repeats["contact_id"].tolist() == ["K2", "K3", "K7"]
    assert set(pandas_repeats["root_reason"]) == {"bill_query"}


def test_unknown_customers_panel_raises_and_failure_demand_classifies_alone(duck, reasons):
    contacts, customers = _hand_made()
    contacts.loc[5, "customer_id"] = "NOBODY"  # K6 -> an unknown customer
    con = validate_table(duck, "contacts", contacts)
    cus = validate_table(duck, "customers", customers)
    shared = contact_pass(duck, con, cus)
    fd = failure_demand_groups(duck, con, reasons, repeat_window_days=7.0, shared=shared)
    assert shared.failure_demand_fine(7.0) is None  # unknown customers: not from the shared pass
    alone = failure_demand_groups(duck, con, reasons, repeat_window_days=7.0)
    pd.testing.assert_frame_equal(alone.groups, fd.groups)
    with pytest.raises(DataValidationError, match="not in 'customers'") as err:
        customer_panel(duck, con, cus, shared=shared)
    assert err.value.failures["row"].tolist() == [5]


def test_shared_pass_for_other_arguments_is_not_used(duck, reasons):
    contacts, customers = _hand_made()
    con = validate_table(duck, "contacts", contacts)
    cus = validate_table(duck, "customers", customers)
    shared = contact_pass(duck, con, cus, repeat_window_days=7.0)
    assert shared.failure_demand_fine(3.0) is None
    assert not shared.serves_panel(con, cus, threshold_s=30.0, repeat_window_days=7.0, end=None)
    wide = failure_demand_groups(duck, con, reasons, repeat_window_days=30.0, shared=shared)
    # a 30-day window: K6 (20 days after the unresolved K5) is a repeat too
    assert int(wide.groups.loc[wide.groups["demand_type"] == "repeat", "contacts"].sum()) == 4


def test_text_root_key_equals_integer_root_key(duck, reasons):
    """A table without file rows takes the text key path; without timestamp ties its groups are the same."""
    import ibis

    contacts, _ = _hand_made()
    contacts = contacts.drop(index=3).reset_index(drop=True)  # no ties: the order needs no file row
    with_rows = validate_table(duck, "contacts", contacts)
    integer = failure_demand_groups(duck, with_rows, reasons, repeat_window_days=7.0)
    text = failure_demand_groups(duck, ibis.memtable(contacts), reasons, repeat_window_days=7.0)
    pd.testing.assert_frame_equal(integer.groups, text.groups)
    pd.testing.assert_frame_equal(integer.top_chains, text.top_chains)
    assert int(text.groups.loc[text.groups["demand_type"] == "repeat", "contacts"].sum()) == 3
