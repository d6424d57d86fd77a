"""HR modeller: plan mechanics (issue 16 item 1) — the page's numbers equal the library's, and a bad tier edit is
named."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from cx_framework.config import load_config  # noqa: E402
from cx_framework.incentives import compare_schemes, credited_sales, scheme_to_yaml  # noqa: E402
from cx_framework.synthetic import load_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "apps" / "views" / "incentives.py"


@pytest.fixture(autouse=True)
def _sample_data(monkeypatch):
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)


def _cost_table(at: AppTest):
    table = next(d.value for d in at.dataframe if "Scheme" in d.value.columns)
    return table.rename(columns=lambda c: c.split(" (")[0])


def test_sales_retention_plan_costs_match_library_with_clawbacks():
    cfg = load_config(REPO / "configs")
    org = load_sample(validate=False).tables()
    at = AppTest.from_file(str(PAGE), default_timeout=240)
    at.session_state["hr_start"] = "sales_retention"
    at.run()
    assert not at.exception, at.exception
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compare_schemes(
            org["employee_metrics"],
            org["employees"],
            [cfg.schemes["siloed"], cfg.schemes["sales_retention"].model_copy(update={"id": "edited"})],
            config=cfg,
            sales=credited_sales(org),
            customers=org["customers"],
        )
    clawback = ref.payouts["edited"].attrs["clawback"]
    assert (
        clawback["reversed_sales"] > 0 and clawback["clawback_total"] > 0
    )  # the clawback bites on the sample
    assert _cost_table(at)["Annual cost"].iloc[1] == pytest.approx(
        float(ref.budget.iloc[1]["annualised_cost"]), abs=0.005
    )


def test_tier_gap_edit_is_named():
    cfg = load_config(REPO / "configs")
    base = cfg.schemes["sales_retention"]
    editor_key = hashlib.sha1(scheme_to_yaml(base).encode()).hexdigest()[:10]
    at = AppTest.from_file(str(PAGE), default_timeout=240)
    at.session_state["hr_start"] = "sales_retention"
    # tier 1 starts at 0.6 instead of 0.5: a gap
    at.session_state[f"hr_tiers_product_sales_{editor_key}"] = {
        "edited_rows": {1: {"from": 0.6}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    message = " ".join(e.value for e in at.error)
    assert "gap in the tier table" in message and "components[0].rate_table.tiers[1].from" in message


def test_hr_page_saves_approves_snapshots_and_refuses_a_tampered_snapshot(tmp_path, monkeypatch):
    import sqlite3

    from cx_framework.scenarios import ScenarioStore

    db = tmp_path / "compensation.sqlite"
    monkeypatch.setenv("CX_COMP_DB", str(db))
    at = AppTest.from_file(str(PAGE), default_timeout=240).run()
    assert not at.exception, at.exception
    at.text_input(key="hr_save_name").input("retention plan")
    at.text_input(key="hr_save_note").input("first draft").run()
    at.button(key="hr_save").click().run()
    assert not at.exception, at.exception
    store = ScenarioStore(db)
    assert store.list()["name"].tolist() == ["retention plan"]
    at.button(key="hr_status_proposed").click().run()
    at.button(key="hr_status_approved").click().run()
    assert store.status("retention plan") == "approved"
    at.button(key="hr_snapshot").click().run()
    assert not at.exception, at.exception
    snaps = store.snapshots()
    assert len(snaps) == 1
    audit = store.audit()
    assert audit["action"].tolist() == ["save", "status", "status", "snapshot"]
    assert set(audit["user"]) == {"anonymous (access control off)"}
    # the page opens the snapshot (hash verified) ...
    at.run()
    assert any("verified" in c.value for c in at.caption)
    # ... and refuses it once the database is edited behind the store's back
    with sqlite3.connect(db) as con:
        con.execute("DROP TRIGGER snapshots_no_update")
        con.execute("UPDATE snapshots SET payload = payload || x'00'")
    at.run()
    assert any("has been altered" in e.value for e in at.error)
