"""Access control (issue 16 item 4): access.yaml, password authentication, and checks where data is read."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from cx_framework.access import (
    AccessError,
    Viewer,
    authorize,
    hash_password,
    load_access,
    restrict_payouts,
    restrict_tables,
)
from cx_framework.config import load_config
from cx_framework.errors import ConfigError


@pytest.fixture(scope="module")
def cfg():
    return load_config("configs")


@pytest.fixture(scope="module")
def hashes():
    return {"hr": hash_password("hr-secret"), "lead": hash_password("lead-secret")}


def _write(tmp_path, body: str):
    path = tmp_path / "access.yaml"
    path.write_text(body)
    return path


def _policy(tmp_path, hashes, cfg):
    return load_access(
        _write(
            tmp_path,
            f"""
users:
  - {{user: alex, name: Alex Hart, role: hr, password_hash: "{hashes["hr"]}"}}
  - {{user: lee, role: leadership, password_hash: "{hashes["lead"]}"}}
  - {{user: mo, role: manager, teams: [cc_north], password_hash: "{hashes["hr"]}"}}
denied_log: denied.jsonl
""",
        ),
        organisation=cfg.organisation,
    )


def test_password_login_accepts_right_and_refuses_wrong(tmp_path, hashes, cfg, caplog):
    policy = _policy(tmp_path, hashes, cfg)
    viewer = policy.authenticate("Alex", "hr-secret")
    assert viewer == Viewer(user="alex", role="hr", teams=(), name="Alex Hart")
    with (
        caplog.at_level(logging.WARNING, logger="cx_framework.access"),
        pytest.raises(AccessError, match="wrong"),
    ):
        policy.authenticate("alex", "hr-secreT")
    with pytest.raises(AccessError, match="wrong user name or password"):
        policy.authenticate("nobody", "hr-secret")
    assert "access denied" in caplog.text
    logged = [json.loads(line) for line in (tmp_path / "denied.jsonl").read_text().splitlines()]
    assert logged[0]["user"] == "alex" and logged[0]["what"] == "login"


def test_hashes_are_argon2_and_salted():
    a, b = hash_password("same"), hash_password("same")
    assert a.startswith("$argon2id$") and a != b  # random salt per hash


def test_leadership_cannot_read_personal_sections_and_is_logged(tmp_path, hashes, cfg):
    policy = _policy(tmp_path, hashes, cfg)
    lee = policy.authenticate("lee", "lead-secret")
    for section in ("payouts", "statements", "payout_export"):
        with pytest.raises(AccessError, match="may not see individual pay"):
            policy.authorize(lee, section)
    policy.authorize(lee, "scorecard")  # aggregates are fine
    assert len((tmp_path / "denied.jsonl").read_text().splitlines()) == 3


def test_restrict_payouts_by_role():
    frame = pd.DataFrame({"employee_id": ["A", "B"], "team": ["cc_north", "cc_south"], "payout": [1.0, 2.0]})
    assert len(restrict_payouts(frame, Viewer("h", "hr"))) == 2
    assert restrict_payouts(frame, Viewer("m", "manager", ("cc_north",)))["employee_id"].tolist() == ["A"]
    assert len(restrict_payouts(frame, None)) == 2  # access control off
    with pytest.raises(AccessError):
        restrict_payouts(frame, Viewer("l", "leadership"))
    with pytest.raises(AccessError):
        authorize(Viewer("a", "analyst"), "payouts")


def test_restrict_tables_removes_pay_and_pseudonymises_for_analysts():
    tables = {
        "employees": pd.DataFrame(
            {"employee_id": ["A", "B"], "team": ["t1", "t2"], "base_salary": [1.0, 2.0]}
        ),
        "employee_metrics": pd.DataFrame({"employee_id": ["A", "B"], "value": [1.0, 2.0]}),
        "customers": pd.DataFrame({"customer_id": ["C1", "C2"]}),
        "contacts": pd.DataFrame({"customer_id": ["C1", "C1"]}),
    }
    lead = restrict_tables(tables, Viewer("l", "leadership"))
    assert "base_salary" not in lead["employees"].columns
    analyst = restrict_tables(tables, Viewer("a", "analyst"), pseudonym_key=b"k" * 16)
    assert "C1" not in set(analyst["customers"]["customer_id"])
    # the same customer gets the same pseudonym in every table, so joins still work
    assert analyst["contacts"]["customer_id"].iloc[0] == analyst["customers"]["customer_id"].iloc[0]
    manager = restrict_tables(tables, Viewer("m", "manager", ("t1",)))
    assert manager["employees"]["employee_id"].tolist() == ["A"]
    assert manager["employee_metrics"]["employee_id"].tolist() == ["A"]
    assert restrict_tables(tables, Viewer("h", "hr"))["employees"] is tables["employees"]


@pytest.mark.parametrize(
    ("body", "message", "key"),
    [
        (
            "users:\n  - {user: a, role: boss, password_hash: '$argon2id$x'}\n",
            "unknown role 'boss'",
            "users[0].role",
        ),
        (
            "users:\n  - {user: a, role: manager, teams: [nowhere], password_hash: '$argon2id$x'}\n",
            "unknown team 'nowhere'",
            "users[0].teams[0]",
        ),
        (
            "users:\n  - {user: a, role: manager, password_hash: '$argon2id$x'}\n",
            "needs `teams`",
            "users[0].teams",
        ),
        ("users:\n  - {user: a, role: hr, password_hash: plaintext}\n", "Argon2", "users[0].password_hash"),
        ("users:\n  - {user: a, role: hr}\n", "needs a password_hash", "users[0].password_hash"),
    ],
)
def test_bad_access_yaml_names_file_and_key(tmp_path, cfg, body, message, key):
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError, match=message) as err:
        load_access(path, organisation=cfg.organisation)
    assert err.value.key == key
    assert str(path) in str(err.value)


def test_oidc_identity_must_be_listed(tmp_path, cfg):
    policy = load_access(
        _write(tmp_path, "authentication: oidc\nusers:\n  - {user: alex@example.com, role: hr}\n"),
        organisation=cfg.organisation,
    )
    assert policy.viewer_for("Alex@Example.com").role == "hr"
    with pytest.raises(AccessError, match="not listed"):
        policy.viewer_for("eve@example.com")
