"""Access control in the app (issue 16 items 4-5, AppTest part): sign-in gate, role-based pages, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from cx_framework.access import Viewer, hash_password  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "streamlit_app.py"
HR_PAGE = REPO / "apps" / "views" / "incentives.py"


@pytest.fixture(scope="module")
def access_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("access") / "access.yaml"
    path.write_text(
        "users:\n"
        f"  - {{user: hr, role: hr, password_hash: '{hash_password('hr-pass')}'}}\n"
        f"  - {{user: lead, role: leadership, password_hash: '{hash_password('lead-pass')}'}}\n"
        "denied_log: denied.jsonl\n"
    )
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)


def _texts(at: AppTest) -> str:
    return " ".join(
        [m.value for m in at.markdown]
        + [t.value for t in at.title]
        + [c.value for c in at.caption]
        + [e.value for e in at.error]
        + [w.value for w in at.warning]
    )


def test_without_access_file_the_app_says_access_control_is_off():
    at = AppTest.from_file(str(APP), default_timeout=240).run()
    assert not at.exception
    assert any("Access control is off" in w.value for w in at.sidebar.warning)


def test_visitor_sees_only_the_sign_in_form_and_wrong_password_is_refused(access_file, monkeypatch):
    monkeypatch.setenv("CX_ACCESS_FILE", str(access_file))
    at = AppTest.from_file(str(APP), default_timeout=240).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.metric and not at.dataframe  # nothing but the form
    at.text_input(key="cx_login_user").input("hr")
    at.text_input(key="cx_login_password").input("wrong")
    at.button[0].click().run()
    assert any("Sign-in refused" in e.value for e in at.error)
    assert [t.value for t in at.title] == ["Sign in"]
    assert "wrong" not in (access_file.parent / "denied.jsonl").read_text()  # the password is never logged
    assert '"what": "login"' in (access_file.parent / "denied.jsonl").read_text()


def test_leadership_is_refused_on_the_hr_page_even_when_opened_directly(access_file, monkeypatch):
    monkeypatch.setenv("CX_ACCESS_FILE", str(access_file))
    at = AppTest.from_file(str(HR_PAGE), default_timeout=240)
    at.session_state["cx_viewer"] = Viewer(user="lead", role="leadership")
    at.run()
    assert not at.exception
    assert any("Access denied" in e.value for e in at.error)
    assert not at.dataframe and not at.metric


def test_hr_login_reaches_the_hr_page(access_file, monkeypatch):
    monkeypatch.setenv("CX_ACCESS_FILE", str(access_file))
    at = AppTest.from_file(str(HR_PAGE), default_timeout=240)
    at.session_state["cx_viewer"] = Viewer(user="hr", role="hr")
    at.run()
    assert not at.exception
    assert any(m.label == "Annual payout cost (edited)" for m in at.metric)


@pytest.fixture(scope="module")
def small_group_data(tmp_path_factory):
    """The sample with two sales reps moved to marketing: a (marketing, sales_rep) group of two people."""
    import shutil

    import pandas as pd

    from cx_framework.io import write_table

    data = tmp_path_factory.mktemp("small") / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    employees = pd.read_parquet(data / "employees.parquet")
    employees.loc[employees.index[employees["role"].eq("sales_rep")][:2], "department"] = "marketing"
    write_table(employees, data / "employees.parquet")
    return data


def _overview_schemes(access_file, monkeypatch, data, viewer):
    monkeypatch.setenv("CX_ACCESS_FILE", str(access_file))
    monkeypatch.setenv("CX_DATA_DIR", str(data))
    at = AppTest.from_file(str(REPO / "apps" / "views" / "overview.py"), default_timeout=400)
    at.session_state["cx_viewer"] = viewer
    at.run()
    assert not at.exception, at.exception
    at.toggle(key="overview_schemes").set_value(True).run()
    assert not at.exception, at.exception
    table = next(d for d in at.dataframe if "employees" in d.value.columns).value
    return at, table


def test_leadership_sees_the_scheme_comparison_with_small_groups_merged(
    access_file, monkeypatch, small_group_data
):
    at, table = _overview_schemes(
        access_file, monkeypatch, small_group_data, Viewer(user="lead", role="leadership")
    )
    assert "Marketing & product" not in set(table["department"]) and "other groups" in set(
        table["department"]
    )
    assert (table["employees"] >= 5).all()
    assert any("Suppressed: fewer than 5 employees" in c.value for c in at.caption)


def test_hr_sees_every_group_in_the_scheme_comparison(access_file, monkeypatch, small_group_data):
    _, table = _overview_schemes(access_file, monkeypatch, small_group_data, Viewer(user="hr", role="hr"))
    small = table[table["department"].eq("Marketing & product")]
    assert len(small) == 3 and (small["employees"] == 2).all()  # one row per compared scheme


@pytest.fixture(scope="module")
def tiny_scheme(tmp_path_factory):
    """(data, configs): three agents made team leaders and a scheme ``tiny`` for team leaders (it pays 3)."""
    import shutil

    import pandas as pd

    from cx_framework.io import write_table

    root = tmp_path_factory.mktemp("tiny")
    data, configs = root / "data", root / "configs"
    shutil.copytree(REPO / "data" / "sample", data)
    shutil.copytree(REPO / "configs", configs, ignore=shutil.ignore_patterns("*.sqlite"))
    employees = pd.read_parquet(data / "employees.parquet")
    employees.loc[employees.index[employees["role"].eq("agent")][:3], "role"] = "team_leader"
    write_table(employees, data / "employees.parquet")
    (configs / "incentives" / "tiny.yaml").write_text(
        "id: tiny\nname: Team leader bonus\nroles: [team_leader]\ntarget_bonus_pct: 10\nperiod: month\n"
        "components:\n  - {metric: csat, weight: 1.0, threshold: 0.70, target: 0.80, stretch: 0.90, "
        "payout_at_threshold: 0.5, payout_at_stretch: 1.5}\n",
        encoding="utf-8",
    )
    return data, configs


def _overview_summary(access_file, monkeypatch, tiny_scheme, viewer):
    data, configs = tiny_scheme
    monkeypatch.setenv("CX_CONFIG_DIR", str(configs))
    at, _ = _overview_schemes(access_file, monkeypatch, data, viewer)
    summary = next(d for d in at.dataframe if "Scheme" in d.value.columns).value
    return at, summary.set_index("Scheme")


def test_leadership_sees_a_three_person_schemes_cost_withheld_on_the_overview(
    access_file, monkeypatch, tiny_scheme
):
    at, summary = _overview_summary(
        access_file, monkeypatch, tiny_scheme, Viewer(user="lead", role="leadership")
    )
    cost = next(c for c in summary.columns if c.startswith("Annual cost"))
    tiny = summary.loc["Team leader bonus"]
    assert tiny[cost] == "withheld" and tiny["Median attainment"] == "withheld"
    assert tiny["Withheld"] == "fewer than 5 employees"
    others = summary[cost].drop("Team leader bonus")
    assert others.str.fullmatch(r"[\d,]+").all()  # the other schemes shown as numbers
    assert any(c.value.startswith("Withheld: Team leader bonus") for c in at.caption)
    # nor is a switch to that scheme among the actions (its bonus payout saved would give its cost back)
    actions = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert not actions["Action"].str.contains("Team leader bonus").any()


def test_hr_sees_the_three_person_schemes_cost_on_the_overview(access_file, monkeypatch, tiny_scheme):
    at, summary = _overview_summary(access_file, monkeypatch, tiny_scheme, Viewer(user="hr", role="hr"))
    cost = next(c for c in summary.columns if c.startswith("Annual cost"))
    assert summary.loc["Team leader bonus", cost] > 0 and "Withheld" not in summary.columns
    actions = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert actions["Action"].str.contains("Team leader bonus").any()  # the test above can fail
