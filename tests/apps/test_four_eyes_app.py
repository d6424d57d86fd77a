"""Four-eyes approval on the HR page (issue 16): the HR user who proposed a scheme sees the approval refused with
the reason (kept in the audit log); another HR user approves it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from cx_framework.access import Viewer, hash_password  # noqa: E402
from cx_framework.config import load_config  # noqa: E402
from cx_framework.scenarios import ScenarioStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "apps" / "views" / "incentives.py"


@pytest.fixture
def proposed(tmp_path, monkeypatch):
    access = tmp_path / "access.yaml"
    access.write_text(
        "users:\n"
        f"  - {{user: hr1, role: hr, password_hash: '{hash_password('a')}'}}\n"
        f"  - {{user: hr2, role: hr, password_hash: '{hash_password('b')}'}}\n",
        encoding="utf-8",
    )
    db = tmp_path / "comp.sqlite"
    store = ScenarioStore(db)
    store.save("plan", load_config(REPO / "configs").schemes["sales_retention"], user="hr1")
    store.set_status("plan", "proposed", user="hr1")
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    monkeypatch.setenv("CX_ACCESS_FILE", str(access))
    monkeypatch.setenv("CX_COMP_DB", str(db))
    return store


def _page_as(user: str) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    at.session_state["cx_viewer"] = Viewer(user=user, role="hr")
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_proposer_is_refused_and_another_hr_user_approves(proposed):
    at = _page_as("hr1")
    assert any("Proposed by hr1" in c.value and "four-eyes" in c.value for c in at.caption)
    at.button(key="hr_status_approved").click().run()
    assert not at.exception, at.exception
    assert any("four-eyes approval: hr1 proposed and last edited" in e.value for e in at.error)
    assert proposed.status("plan") == "proposed"
    assert proposed.audit("plan")["action"].tolist() == ["save", "status", "refused"]
    at = _page_as("hr2")
    at.button(key="hr_status_approved").click().run()
    assert not at.exception, at.exception
    assert proposed.status("plan") == "approved"
    assert proposed.audit("plan").iloc[-1]["user"] == "hr2"
