"""Data: upload your own tables (CSV or Parquet), see exactly what is wrong with them, switch this session to
them, and download the sample files and empty templates."""

from __future__ import annotations

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework.app_support import UPLOAD_SUFFIXES, save_upload  # noqa: E402
from cx_framework.errors import CxError  # noqa: E402
from cx_framework.io import sanitize_for_export  # noqa: E402
from cx_framework.schemas import REQUIRED_TABLES, schema_for, template  # noqa: E402

src = ui.page("Data", "Which data are the pages using, and how do I bring my own?")
limit_mb = int(st.get_option("server.maxUploadSize"))
uploaded_ok: dict[str, dict[str, object]] = st.session_state.setdefault("cx_uploaded_ok", {})
failed: dict[str, str] = st.session_state.setdefault("cx_upload_failed", {})

DESCRIPTIONS = {
    "intervals": "ACD statistics per half-hour and queue",
    "contacts": "one row per customer contact",
    "customers": "one row per customer",
    "employees": "one row per employee",
    "employee_metrics": "metric values per month and employee",
    "department_metrics": "metric values per month, department and team",
    "work_items": "one row per work item and journey stage",
}

st.subheader("1 · Upload tables")
st.caption(
    f"CSV (comma or semicolon, UTF-8 with or without BOM) or Parquet, up to {limit_mb} MB per file. Each file "
    "is checked against the data contract as soon as it is uploaded; files are kept only in a private temporary "
    "folder for this session. Tables you do not upload are taken from the current data."
)
for i, table in enumerate(REQUIRED_TABLES):
    if i % 2 == 0:
        columns = st.columns(2)  # one row per pair, so the reading order is the contract order
    with columns[i % 2]:
        file = st.file_uploader(
            f"**{table}** — {DESCRIPTIONS.get(table, '')}",
            type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
            key=f"data_upload_{table}",
            help=(schema_for(table).__doc__ or "").strip().splitlines()[0],
        )
        if file is None:
            continue
        marker = f"{file.file_id}:{file.size}"
        if uploaded_ok.get(table, {}).get("marker") == marker:
            st.success(
                f"{file.name}: {uploaded_ok[table]['rows']:,} rows, valid.", icon=":material/check_circle:"
            )
            continue
        if failed.get(table) == marker:
            st.error(
                f"{file.name} is not valid — see the problems listed above the first time it was checked."
            )
            continue
        if file.size > limit_mb * 1024 * 1024:
            st.error(f"{file.name} is {file.size / 1e6:,.0f} MB; the limit is {limit_mb} MB per file.")
            continue
        try:
            frame = save_upload(file.getvalue(), file.name, table, state.upload_dir())
        except CxError as exc:
            failed[table] = marker
            state.show_error(exc, f"{file.name} cannot be used as `{table}`")
        else:
            uploaded_ok[table] = {"marker": marker, "rows": len(frame), "name": file.name}
            failed.pop(table, None)
            st.success(f"{file.name}: {len(frame):,} rows, valid.", icon=":material/check_circle:")

st.subheader("2 · Use them")
using = bool(st.session_state.get(state.USE_UPLOAD))
if uploaded_ok:
    status = pd.DataFrame(
        {
            "Table": list(REQUIRED_TABLES),
            "Source": [
                "uploaded: " + str(uploaded_ok[t]["name"]) if t in uploaded_ok else "current data"
                for t in REQUIRED_TABLES
            ],
            "Rows": [uploaded_ok[t]["rows"] if t in uploaded_ok else None for t in REQUIRED_TABLES],
        }
    )
    st.dataframe(
        status,
        hide_index=True,
        width="stretch",
        column_config={"Rows": st.column_config.NumberColumn(format="%,d")},
    )
if using:
    st.info("This session uses your uploaded tables.", icon=":material/folder_open:")
    if st.button("Switch back to the original data", key="data_use_original"):
        st.session_state[state.USE_UPLOAD] = False
        st.rerun()
elif uploaded_ok:
    if st.button("Use the uploaded tables for this session", type="primary", key="data_use_upload"):
        st.session_state[state.USE_UPLOAD] = True
        loaded = state.tables(state.source())  # invalid combinations stop here with the failure table
        st.session_state["cx_switch_message"] = f"Switched: {len(loaded)} tables loaded."
        st.rerun()
else:
    st.caption("Upload at least one valid table to switch this session to your data.")
if msg := st.session_state.pop("cx_switch_message", None):
    st.success(msg)

st.subheader("3 · Download")
sample = state.tables(state.source())
d1, d2 = st.columns(2)
with d1:
    st.markdown("**Current data as CSV** (to see the expected format with real values)")
    for table in [t for t in REQUIRED_TABLES if t in sample]:  # partial data: only the tables there are

        def _csv(table: str = table) -> bytes:
            buffer = io.StringIO()
            sanitize_for_export(sample[table]).to_csv(buffer, index=False)
            return buffer.getvalue().encode("utf-8")

        st.download_button(
            f"{table}.csv ({len(sample[table]):,} rows)",
            _csv,
            file_name=f"{table}.csv",
            mime="text/csv",
            key=f"data_dl_{table}",
        )
with d2:
    st.markdown("**Empty templates** (the columns and types each table needs)")
    for table in REQUIRED_TABLES:
        st.download_button(
            f"{table}_template.csv",
            template(table).to_csv(index=False).encode("utf-8"),
            file_name=f"{table}_template.csv",
            mime="text/csv",
            key=f"data_tpl_{table}",
        )

# ---------------------------------------------------------------------------------------- mapping wizard
import _mapping_wizard  # noqa: E402

_mapping_wizard.render(src)
