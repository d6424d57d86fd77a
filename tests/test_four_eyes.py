"""Four-eyes approval (issue 16): whoever proposed a scheme, or saved its current revision, cannot approve it —
another HR user must; the refusal is a clear error naming the database and key, and is recorded in the audit
log. On whenever access control is on, off with ``four_eyes: false`` in access.yaml (an HR team of one). Library
and ``cx scenarios --propose/--approve``; the HR page is tested in tests/apps/test_four_eyes_app.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cx_framework.access import hash_password, load_access
from cx_framework.cli import app
from cx_framework.config import load_config
from cx_framework.errors import ConfigError
from cx_framework.scenarios import FourEyesError, ScenarioError, ScenarioStore

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
runner = CliRunner()


@pytest.fixture(scope="module")
def scheme():
    return load_config(CONFIGS).schemes["sales_retention"]


@pytest.fixture
def store(tmp_path, scheme):
    store = ScenarioStore(tmp_path / "comp.sqlite")
    store.save("plan", scheme, user="alex", note="first draft")
    store.set_status("plan", "proposed", user="alex")
    return store


def test_the_proposer_cannot_approve_and_the_refusal_is_audited(store):
    with pytest.raises(FourEyesError) as caught:
        store.set_status("plan", "approved", user="ALEX", four_eyes=True)  # names compare case-insensitively
    err = caught.value
    assert isinstance(err, ScenarioError)
    text = str(err)
    assert "four-eyes" in text and "proposed and last edited" in text and "another HR user" in text
    assert "comp.sqlite" in text and "scenarios.plan.status" in text  # file and key named
    assert store.status("plan") == "proposed"  # nothing changed
    last = store.audit("plan").iloc[-1]
    assert last["action"] == "refused" and last["user"] == "ALEX"
    assert last["detail"]["wanted"] == "approved" and last["detail"]["involved"] == {
        "proposed": "alex",
        "last edited": "alex",
    }
    store.verify()  # the refusal row is part of the hash chain
    store.set_status("plan", "approved", user="sam", four_eyes=True)
    assert store.status("plan") == "approved"
    assert store.audit("plan")["action"].tolist() == ["save", "status", "refused", "status"]


def test_the_last_editor_cannot_approve_either(tmp_path, scheme):
    store = ScenarioStore(tmp_path / "comp.sqlite")
    store.save("plan", scheme, user="alex")
    store.save("plan", scheme.model_copy(update={"cap_pct": 150.0}), user="sam", overwrite=True)
    store.set_status("plan", "proposed", user="alex")
    assert store.involved("plan") == {"proposed": "alex", "last edited": "sam"}
    with pytest.raises(FourEyesError, match="sam last edited"):
        store.set_status("plan", "approved", user="sam", four_eyes=True)
    store.set_status("plan", "approved", user="kim", four_eyes=True)
    assert store.status("plan") == "approved"


def test_without_four_eyes_a_team_of_one_approves_its_own_proposal(store):
    store.set_status("plan", "approved", user="alex", four_eyes=False)
    assert store.status("plan") == "approved"


def test_four_eyes_is_on_by_default_and_can_be_turned_off_in_access_yaml(tmp_path):
    user = f"users:\n  - {{user: hr, role: hr, password_hash: '{hash_password('x')}'}}\n"
    (tmp_path / "on.yaml").write_text(user, encoding="utf-8")
    (tmp_path / "off.yaml").write_text("four_eyes: false\n" + user, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("four_eyes: maybe\n" + user, encoding="utf-8")
    assert load_access(tmp_path / "on.yaml").four_eyes is True
    assert load_access(tmp_path / "off.yaml").four_eyes is False
    with pytest.raises(ConfigError) as caught:
        load_access(tmp_path / "bad.yaml")
    assert "bad.yaml" in str(caught.value) and "four_eyes" in str(caught.value)


# ------------------------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    root = tmp_path_factory.mktemp("four_eyes")
    configs = root / "configs"
    shutil.copytree(CONFIGS, configs, ignore=shutil.ignore_patterns("*.sqlite"))
    lines = ["users:"]
    for user, role in (("hr1", "hr"), ("hr2", "hr"), ("lead", "leadership")):
        lines.append(f"  - {{user: {user}, role: {role}, password_hash: '{hash_password(user + '-pass')}'}}")
    (configs / "access.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return configs


def _as(monkeypatch, user):
    monkeypatch.setenv("CX_USER", user)
    monkeypatch.setenv("CX_PASSWORD", user + "-pass")


@pytest.fixture
def cli_store(tmp_path, secured, scheme, monkeypatch):
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    db = tmp_path / "comp.sqlite"
    monkeypatch.setenv("CX_COMP_DB", str(db))
    store = ScenarioStore(db)
    store.save("plan", scheme, user="hr1")
    return store


def test_cx_scenarios_four_eyes_approval(cli_store, secured, monkeypatch):
    _as(monkeypatch, "hr1")
    proposed = runner.invoke(app, ["scenarios", "--configs", str(secured), "--propose", "plan"])
    assert proposed.exit_code == 0, proposed.output
    assert cli_store.status("plan") == "proposed"
    mine = runner.invoke(app, ["scenarios", "--configs", str(secured), "--approve", "plan"])
    assert mine.exit_code == 2, mine.output
    assert "four-eyes approval: hr1 proposed and last edited scenario 'plan'" in " ".join(mine.output.split())
    assert cli_store.status("plan") == "proposed"
    _as(monkeypatch, "lead")
    lead = runner.invoke(app, ["scenarios", "--configs", str(secured), "--approve", "plan"])
    assert lead.exit_code == 2 and "may not approve a scheme" in " ".join(lead.output.split())
    _as(monkeypatch, "hr2")
    other = runner.invoke(
        app, ["scenarios", "--configs", str(secured), "--approve", "plan", "--note", "checked", "--json"]
    )
    assert other.exit_code == 0, other.output
    assert cli_store.status("plan") == "approved"
    audit = cli_store.audit("plan")
    assert audit["action"].tolist() == ["save", "status", "refused", "status"]
    assert audit["user"].tolist() == ["hr1", "hr1", "hr1", "hr2"]
    assert audit.iloc[-1]["detail"]["note"] == "checked"
    doc = json.loads(next(r for r in reversed(other.stdout.splitlines()) if r.startswith("{")))
    assert doc["scenarios"][0]["status"] == "approved"


def test_cx_scenarios_four_eyes_off_in_access_yaml(cli_store, secured, tmp_path, monkeypatch):
    off = tmp_path / "configs"
    shutil.copytree(secured, off)
    text = (off / "access.yaml").read_text(encoding="utf-8")
    (off / "access.yaml").write_text("four_eyes: false\n" + text, encoding="utf-8")
    _as(monkeypatch, "hr1")
    assert runner.invoke(app, ["scenarios", "--configs", str(off), "--propose", "plan"]).exit_code == 0
    approved = runner.invoke(app, ["scenarios", "--configs", str(off), "--approve", "plan"])
    assert approved.exit_code == 0, approved.output
    assert cli_store.status("plan") == "approved"


def test_cx_scenarios_needs_a_user_with_access_control_off(cli_store, monkeypatch):
    monkeypatch.delenv("CX_USER", raising=False)
    result = runner.invoke(app, ["scenarios", "--configs", str(CONFIGS), "--propose", "plan"])
    assert result.exit_code == 2 and "--user" in result.output
    ok = runner.invoke(app, ["scenarios", "--configs", str(CONFIGS), "--propose", "plan", "--user", "alex"])
    assert ok.exit_code == 0, ok.output
    # access control off: no four-eyes rule, the one user approves
    ok = runner.invoke(app, ["scenarios", "--configs", str(CONFIGS), "--approve", "plan", "--user", "alex"])
    assert ok.exit_code == 0 and cli_store.status("plan") == "approved"
    two = runner.invoke(
        app, ["scenarios", "--configs", str(CONFIGS), "--approve", "plan", "--propose", "plan"]
    )
    assert two.exit_code == 2 and "one of --propose, --approve or --to-draft" in " ".join(two.output.split())
