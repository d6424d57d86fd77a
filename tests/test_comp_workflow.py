"""The "Done when" of issue 16 from the command line: a scheme with tiers, a draw and a retention clawback is
saved as a scenario, approved, its payout run locked as a snapshot, and every employee gets a statement of
exactly the locked numbers (``cx statements --snapshot``) or of the approved scenario (``--scenario``)."""

from __future__ import annotations

import html
import shutil
import sqlite3
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.analysis import Analysis
from cx_framework.cli import app
from cx_framework.scenarios import ScenarioStore

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
runner = CliRunner()
PERIOD = "2025-11"


@pytest.fixture(scope="module")
def payouts():
    return Analysis.from_sample(CONFIGS).result("payouts").payouts["sales_retention"]


@pytest.fixture
def approved(tmp_path, payouts, monkeypatch):
    """A compensation database with 'retention plan' approved and one snapshot of its payout run."""
    from cx_framework.config import load_config

    scheme = load_config(CONFIGS).schemes["sales_retention"]
    assert scheme.draw is not None and scheme.components[0].rate_table is not None
    assert scheme.components[0].clawback is not None
    db = tmp_path / "comp.sqlite"
    store = ScenarioStore(db)
    store.save("retention plan", scheme, user="hr.alex", note="tiers, draw, clawback")
    store.set_status("retention plan", "proposed", user="hr.alex")
    store.set_status("retention plan", "approved", user="hr.bo")
    snap = store.snapshot("retention plan", payouts, user="hr.alex", data_stamp="sample")
    monkeypatch.setenv("CX_COMP_DB", str(db))
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    return store, snap


def test_the_database_is_readable_by_its_owner_only(approved):
    store, _ = approved
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_statements_of_a_locked_snapshot_need_no_data(approved, payouts, tmp_path):
    _, snap = approved
    out = tmp_path / "st"
    result = runner.invoke(
        app,
        [
            "statements",
            "--snapshot",
            str(snap),
            "--period",
            PERIOD,
            "--out",
            str(out),
            "--configs",
            str(CONFIGS),
        ],
    )
    assert result.exit_code == 0, result.output
    month = payouts[payouts["period"].eq(pd.Timestamp(PERIOD + "-01"))]
    assert {p.name for p in out.iterdir()} == {f"{e}_{PERIOD}.html" for e in month["employee_id"]}
    row = month[~month["withheld"]].sort_values("payout").iloc[-1]
    text = html.unescape((out / f"{row['employee_id']}_{PERIOD}.html").read_text(encoding="utf-8"))
    assert f"{row['payout']:,.2f}" in text
    assert "Draw" in text or "draw" in text


def test_a_tampered_snapshot_is_refused(approved, tmp_path):
    store, snap = approved
    with sqlite3.connect(store.path) as con:
        con.execute("DROP TRIGGER snapshots_no_update")  # what someone editing the file behind the store does
        con.execute("UPDATE snapshots SET payload = payload || x'00' WHERE id = ?", (snap,))
    result = runner.invoke(
        app,
        [
            "statements",
            "--snapshot",
            str(snap),
            "--period",
            PERIOD,
            "--out",
            str(tmp_path / "x"),
            "--configs",
            str(CONFIGS),
        ],
    )
    assert result.exit_code == 2 and "has been altered" in result.output
    assert not (tmp_path / "x").exists()


def test_statements_of_the_approved_scenario_match_the_configured_scheme(approved, tmp_path):
    by_scenario, by_scheme = tmp_path / "a", tmp_path / "b"
    for args, out in (
        (["--scenario", "retention plan"], by_scenario),
        (["--scheme", "sales_retention"], by_scheme),
    ):
        result = runner.invoke(
            app,
            [
                "statements",
                str(SAMPLE),
                *args,
                "--period",
                PERIOD,
                "--out",
                str(out),
                "--configs",
                str(CONFIGS),
            ],
        )
        assert result.exit_code == 0, result.output
    files = sorted(p.name for p in by_scheme.iterdir())
    assert files == sorted(p.name for p in by_scenario.iterdir()) and files
    for name in files[:5]:
        assert (by_scenario / name).read_text() == (by_scheme / name).read_text()


def test_statements_name_exactly_one_scheme_source(approved, tmp_path):
    for args in ([], ["--scheme", "siloed", "--scenario", "retention plan"]):
        result = runner.invoke(
            app,
            [
                "statements",
                str(SAMPLE),
                *args,
                "--period",
                PERIOD,
                "--out",
                str(tmp_path / "x"),
                "--configs",
                str(CONFIGS),
            ],
        )
        assert result.exit_code == 2 and "exactly one of --scheme" in result.output


def test_a_draft_scenario_is_stated_with_a_warning(approved, tmp_path, payouts):
    store, _ = approved
    from cx_framework.config import load_config

    store.save("idea", load_config(CONFIGS).schemes["sales_retention"], user="hr.alex")
    result = runner.invoke(
        app,
        [
            "statements",
            str(SAMPLE),
            "--scenario",
            "idea",
            "--period",
            PERIOD,
            "--out",
            str(tmp_path / "d"),
            "--configs",
            str(CONFIGS),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "is draft, not approved" in result.output


def test_unknown_snapshot_or_scenario_names_the_database(approved, tmp_path):
    store, _ = approved
    for args in (["--snapshot", "99"], ["--scenario", "nope"]):
        result = runner.invoke(
            app,
            [
                "statements",
                str(SAMPLE),
                *args,
                "--period",
                PERIOD,
                "--out",
                str(tmp_path / "x"),
                "--configs",
                str(CONFIGS),
            ],
        )
        assert result.exit_code == 2, result.output
        assert store.path.name in result.output.replace("\n", "")
    shutil.rmtree(tmp_path / "x", ignore_errors=True)


def test_the_app_statement_archive_holds_the_same_files_with_the_same_access(approved, payouts, tmp_path):
    import io
    import zipfile

    from cx_framework.access import AccessError, Viewer
    from cx_framework.statements import statements_archive, write_statements

    store, snap_id = approved
    snap = store.load_snapshot(snap_id)
    scheme = store.load(snap.scenario, snap.revision)
    written = write_statements(snap.payouts, scheme, PERIOD, tmp_path / "files")
    archive = zipfile.ZipFile(io.BytesIO(statements_archive(snap.payouts, scheme, PERIOD)))
    assert sorted(archive.namelist()) == sorted(p.name for p in written)
    first = written[0]
    assert archive.read(first.name).decode() == first.read_text(encoding="utf-8")
    with pytest.raises(AccessError, match="may not see individual pay"):
        statements_archive(snap.payouts, scheme, PERIOD, viewer=Viewer("lee", "leadership"))
    team = statements_archive(
        snap.payouts, scheme, PERIOD, viewer=Viewer("mo", "manager", ("inbound_sales",))
    )
    month = payouts[payouts["period"].eq(pd.Timestamp(PERIOD + "-01"))]
    expected = {f"{e}_{PERIOD}.html" for e in month.loc[month["team"].eq("inbound_sales"), "employee_id"]}
    assert set(zipfile.ZipFile(io.BytesIO(team)).namelist()) == expected and expected


def test_cx_scenarios_lists_the_approved_scenario_and_its_snapshot(approved, payouts):
    import json

    _, snap_id = approved
    result = runner.invoke(app, ["scenarios", "--configs", str(CONFIGS), "--verify"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the tables wrap on a narrow terminal
    assert "approved" in text and "audit chain and snapshot hashes verified" in text
    total = float(payouts.loc[~payouts["withheld"], "payout"].sum())
    assert f"{total:,.2f}" in text  # the locked run's total, as recorded
    doc = json.loads(runner.invoke(app, ["scenarios", "--configs", str(CONFIGS), "--json"]).stdout)
    assert doc["scenarios"][0]["status"] == "approved" and doc["snapshots"][0]["id"] == snap_id
