"""cx_framework app: `streamlit run apps/streamlit_app.py` (or `cx app [--data-dir DIR]`).

Pages for leadership (Overview, Scorecard), HR (Incentive modeller) and analysts (Conflicts & SLAs, Staffing,
Retention, Data). Every number comes from the cx_framework library; this file only wires pages together.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APPS = Path(__file__).resolve().parent
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))

import _state as state  # noqa: E402

from cx_framework.errors import CxError  # noqa: E402

st.set_page_config(page_title="cx_framework", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "Leadership": [
        st.Page(
            APPS / "views" / "overview.py",
            title="Overview",
            icon=":material/home:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            APPS / "views" / "scorecard.py",
            title="Scorecard & drill-down",
            icon=":material/target:",
            url_path="scorecard",
        ),
    ],
    "HR": [
        st.Page(
            APPS / "views" / "incentives.py",
            title="Incentive modeller",
            icon=":material/payments:",
            url_path="incentives",
        ),
    ],
    "Analysts": [
        st.Page(
            APPS / "views" / "conflicts.py",
            title="Conflicts & SLAs",
            icon=":material/balance:",
            url_path="conflicts",
        ),
        st.Page(
            APPS / "views" / "staffing.py",
            title="Staffing & service level",
            icon=":material/support_agent:",
            url_path="staffing",
        ),
        st.Page(
            APPS / "views" / "retention.py",
            title="Retention explorer",
            icon=":material/trending_up:",
            url_path="retention",
        ),
        st.Page(APPS / "views" / "data.py", title="Data", icon=":material/folder_open:", url_path="data"),
    ],
}

import _access as access  # noqa: E402

from cx_framework.access import can_see_individual_pay  # noqa: E402

signed_in = access.gate()  # sign-in form (and stop) when access.yaml is configured; None = access control off
if access.policy() is not None and not can_see_individual_pay(signed_in):
    PAGES.pop("HR")  # hidden for roles without individual pay; the page and the data refuse them too

navigation = st.navigation(PAGES)
with st.sidebar:
    st.caption(f"Data: {state.describe(state.source())}")
    try:
        state.assumptions_panel()
    except CxError as exc:  # bad config: the page below shows the error
        st.caption(f"Assumptions not available: {exc}")
try:
    navigation.run()
except CxError as exc:  # a user mistake (bad data or config) is shown as a message, never a traceback
    state.show_error(exc, "This page cannot be computed from the current data")
