"""Sign-in and access checks for the app (UI side of :mod:`cx_framework.access`).

* No access file (``CX_ACCESS_FILE`` or ``<configs>/access.yaml``): the app works as before, and every page says
  that access control is off.
* ``authentication: password``: a sign-in form; the password is checked against the Argon2 hash in access.yaml.
* ``authentication: oidc``: Streamlit's ``st.login()`` with the identity provider configured in
  ``.streamlit/secrets.toml`` (``[auth]``); the e-mail it returns must be listed in access.yaml.

Pages call :func:`require` before reading personal data; the data itself is cut to what the viewer may read by
``_state.tables`` (``cx_framework.access.restrict_tables``), so hiding a page is never the only protection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from cx_framework.access import AccessError, AccessPolicy, Viewer, find_access_file, load_access

REPO = Path(__file__).resolve().parents[1]
VIEWER_KEY = "cx_viewer"


def _config_dir() -> str:
    return os.environ.get("CX_CONFIG_DIR", str(REPO / "configs"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(path: str, mtime: float, config_dir: str) -> AccessPolicy:
    from cx_framework.config import load_config

    return load_access(path, organisation=load_config(config_dir).organisation)


def policy() -> AccessPolicy | None:
    """The access policy, or None when access control is off."""
    path = find_access_file(_config_dir())
    if path is None:
        return None
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load(str(path), mtime, _config_dir())


def viewer() -> Viewer | None:
    """The signed-in viewer (None when access control is off or nobody signed in)."""
    value = st.session_state.get(VIEWER_KEY)
    return value if isinstance(value, Viewer) else None


def _sign_in_form(p: AccessPolicy) -> None:
    st.title("Sign in")
    st.caption("cx_framework shows pay and customer data; sign in to see what your role allows.")
    with st.form("cx_login"):
        user = st.text_input("User name", key="cx_login_user")
        password = st.text_input("Password", type="password", key="cx_login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            st.session_state[VIEWER_KEY] = p.authenticate(user, password)
        except AccessError as exc:
            st.error(f"Sign-in refused: {exc}.", icon=":material/lock:")
        else:
            st.session_state.pop("cx_login_password", None)
            st.rerun()


def _oidc(p: AccessPolicy) -> None:
    user: Any = getattr(st, "user", None)
    if user is not None and getattr(user, "is_logged_in", False):
        try:
            st.session_state[VIEWER_KEY] = p.viewer_for(user.get("email") or user.get("preferred_username"))
        except AccessError as exc:
            st.error(str(exc), icon=":material/lock:")
            st.button("Sign out", on_click=st.logout, key="cx_oidc_out")
            st.stop()
        return
    st.title("Sign in")
    st.caption("Sign in with your organisation's identity provider.")
    st.button("Sign in", on_click=st.login, type="primary", key="cx_oidc_in")
    st.stop()


def gate() -> Viewer | None:
    """Sign the visitor in (or stop the page on the sign-in form); show who is signed in in the sidebar.

    Returns the viewer, or None when access control is off (a warning says so on every page)."""
    p = policy()
    if p is None:
        st.sidebar.warning(
            "Access control is off: no access.yaml is configured, so everyone who opens this app sees every "
            "salary and payout. Add configs/access.yaml (see the README) before sharing real data.",
            icon=":material/lock_open:",
        )
        return None
    if viewer() is None:
        if p.authentication == "oidc":
            _oidc(p)
        else:
            _sign_in_form(p)
        if viewer() is None:
            st.stop()
    v = viewer()
    assert v is not None
    with st.sidebar:
        st.caption(f"Signed in as **{v.label}**")
        if st.button("Sign out", key="cx_sign_out"):
            st.session_state.pop(VIEWER_KEY, None)
            if p.authentication == "oidc":
                st.logout()
            st.rerun()
    return v


def require(section: str) -> Viewer | None:
    """Stop the page with a clear message unless the viewer may read ``section`` (the refusal is logged)."""
    p = policy()
    if p is None:
        return None
    v = viewer()
    if v is None:
        st.error("Sign in first: open the app's start page.", icon=":material/lock:")
        st.stop()
    try:
        p.authorize(v, section)
    except AccessError as exc:
        st.error(f"**Access denied** — {exc}", icon=":material/lock:")
        st.stop()
    return v
