"""Access control (issue 16 item 4): access.yaml, password authentication, and checks where data is read."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cx_framework.access import (
    AccessError,
    Viewer,
    authorize,
    hash_password,
    load_access,
    merge_small_groups,
    restrict_groups,
    restrict_payouts,
    restrict_tables,
)
from cx_framework.config import load_config
from cx_framework.errors import ConfigError
from cx_framework.incentives import WINNERS_LOSERS_GROUPS


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
        (
            "min_group_size: 2\nusers:\n  - {user: a, role: hr, password_hash: '$argon2id$x'}\n",
            "greater than or equal to 3",
            "min_group_size",
        ),
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


# ------------------------------------------------------------------------------------------------ small groups


def _groups():
    # scheme b: a group of 1 (pay change +100) and one of 2 below 5, then 6 and 10 employees
    # scheme c: 3 employees in all — too few to show anything
    return pd.DataFrame(
        {
            "scheme": ["b", "b", "b", "b", "c", "c"],
            "department": ["d1", "d1", "d2", "d3", "d1", "d2"],
            "role": ["r1", "r2", "r1", "r1", "r1", "r1"],
            "employees": [1, 10, 6, 2, 2, 1],
            "winners": [1, 5, 3, 0, 1, 0],
            "losers": [0, 5, 3, 2, 1, 1],
            "unchanged": [0, 0, 0, 0, 0, 0],
            "not_comparable": [0, 0, 0, 1, 0, 0],
            "mean_change": [100.0, -2.0, 3.0, -10.0, 5.0, 6.0],
            "total_change": [100.0, -20.0, 18.0, -10.0, 10.0, 6.0],
        }
    )


def test_small_groups_merge_with_the_next_smallest_so_nothing_is_worked_back():
    out = merge_small_groups(_groups(), 5, **WINNERS_LOSERS_GROUPS)
    b = out[out["scheme"].eq("b")].reset_index(drop=True)
    # groups of 1 and 2 make 3 < 5: the smallest shown group (6) joins them, so the remaining total minus the
    # shown group of 10 is a row of 9, never the single person's +100
    assert b["employees"].tolist() == [10, 9]
    merged = b.iloc[1]
    assert (merged["department"], merged["merged_groups"]) == ("other groups", 3)
    assert (merged["winners"], merged["losers"], merged["not_comparable"]) == (4, 5, 1)
    assert merged["total_change"] == pytest.approx(100 + 18 - 10)
    # mean change per comparable employee: (1×100 + 6×3 + 1×(-10)) / (1 + 6 + 1)
    assert merged["mean_change"] == pytest.approx((100 + 18 - 10) / 8)
    c = out[out["scheme"].eq("c")].iloc[0]
    assert c["merged_groups"] == 0 and c["employees"] == 3
    assert pd.isna(c["winners"]) and pd.isna(c["mean_change"]) and pd.isna(c["total_change"])
    note = out.attrs["suppression"]
    assert "fewer than 5 employees in 2 group(s)" in note and "in all in 1 comparison" in note


def test_restrict_groups_hr_sees_every_group_others_the_merged_ones():
    frame = _groups()
    assert len(restrict_groups(frame, Viewer("h", "hr"), **WINNERS_LOSERS_GROUPS)) == 6
    assert len(restrict_groups(frame, None, **WINNERS_LOSERS_GROUPS)) == 6  # access control off
    for viewer in (Viewer("l", "leadership"), Viewer("a", "analyst"), Viewer("m", "manager", ("t1",))):
        shown = restrict_groups(frame, viewer, **WINNERS_LOSERS_GROUPS)
        assert (shown["employees"][shown["merged_groups"] > 0] >= 5).all()
    manager = Viewer("m", "manager", ("t1",))
    assert len(restrict_groups(frame, manager, own_teams_only=True, **WINNERS_LOSERS_GROUPS)) == 6
    strict = restrict_groups(frame, Viewer("l", "leadership", min_group_size=11), **WINNERS_LOSERS_GROUPS)
    assert strict[strict["scheme"].eq("b")]["employees"].tolist() == [19]  # everything in one row


def test_min_group_size_comes_from_access_yaml(tmp_path, hashes, cfg):
    body = (
        f"min_group_size: 8\nusers:\n  - {{user: lee, role: leadership, password_hash: '{hashes['lead']}'}}\n"
    )
    policy = load_access(_write(tmp_path, body), organisation=cfg.organisation)
    assert policy.authenticate("lee", "lead-secret").min_group_size == 8
    assert policy.anonymous().min_group_size == 8 and policy.anonymous().role == "leadership"


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
    min_size=st.integers(min_value=3, max_value=10),
)
def test_merged_rows_never_describe_fewer_than_min_size(sizes, min_size):
    n = len(sizes)
    frame = pd.DataFrame(
        {
            "scheme": ["s"] * n,
            "department": [f"d{i}" for i in range(n)],
            "role": ["r"] * n,
            "employees": sizes,
            "winners": sizes,
            "losers": [0] * n,
            "unchanged": [0] * n,
            "not_comparable": [0] * n,
            "mean_change": [float(i) for i in range(n)],
            "total_change": [float(i * s) for i, s in enumerate(sizes)],
        }
    )
    out = merge_small_groups(frame, min_size, **WINNERS_LOSERS_GROUPS)
    assert out["employees"].sum() == sum(sizes)  # every employee is in exactly one row
    if sum(sizes) < min_size:
        assert out["merged_groups"].tolist() == [0] and pd.isna(out["total_change"].iloc[0])
    else:
        assert (out["employees"] >= min_size).all()
        assert out["total_change"].sum() == pytest.approx(frame["total_change"].sum())
        assert out["winners"].sum() == sum(sizes)
        assert out["merged_groups"].sum() == n


def test_only_hr_approves_and_locks_payout_runs(tmp_path, hashes, cfg):
    policy = _policy(tmp_path, hashes, cfg)
    for action in ("approve", "snapshot"):
        policy.authorize(Viewer("alex", "hr"), action)
        authorize(None, action)  # access control off
        for viewer in (Viewer("mo", "manager", ("cc_north",)), Viewer("lee", "leadership")):
            with pytest.raises(AccessError, match="only HR approves schemes"):
                policy.authorize(viewer, action)
    logged = (tmp_path / "denied.jsonl").read_text().splitlines()
    assert [json.loads(line)["what"] for line in logged] == ["approve", "approve", "snapshot", "snapshot"]
