"""Data page section: the mapping wizard. Upload a raw export (ACD call records, a platform's contact records, an
HRIS extract), see an auto-suggested column mapping, edit it, preview the validation, run the pages on the
result and download the ``sources.yaml`` that reproduces it with ``cx import``."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import _state as state
import pandas as pd
import streamlit as st
import yaml

from cx_framework.errors import CxError
from cx_framework.sources import list_presets, parse_sources, read_sources
from cx_framework.sources.config import UNITS
from cx_framework.sources.suggest import mapping_to_sources, suggest_mapping

RAW = "cx_wizard_raw"  # session key: {"path", "name", "columns"}
TABLES = (
    "contacts",
    "employees",
    "customers",
    "intervals",
    "work_items",
    "employee_metrics",
    "department_metrics",
)
NO_PRESET = "(none: suggest from column names)"


def _wizard_dir() -> Path:
    if "cx_wizard_dir" not in st.session_state:
        st.session_state["cx_wizard_dir"] = tempfile.mkdtemp(prefix="cx_wizard_")
    return Path(st.session_state["cx_wizard_dir"])


def _columns_of(path: Path) -> list[str]:
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig", encoding_errors="replace")
    return [str(c) for c in header.columns]


def _keep_raw(data: bytes, name: str) -> None:
    suffix = ".parquet" if name.lower().endswith((".parquet", ".pq")) else ".csv"
    path = _wizard_dir() / f"raw{suffix}"  # the stored name never comes from the user
    path.write_bytes(data)
    st.session_state[RAW] = {"path": str(path), "name": Path(name).name, "columns": _columns_of(path)}
    st.session_state.pop("cx_wizard_mapping", None)


def example_export(tables: dict[str, pd.DataFrame], rows: int = 3000) -> bytes:
    """A generic call-detail-record export (one row per call) written from the current data's phone contacts."""
    calls = tables["contacts"]
    calls = calls[calls["channel"] == "phone"].head(rows)
    entry = calls["timestamp"]
    exit_ = entry + pd.to_timedelta(calls["wait_s"], unit="s")
    answered = ~calls["abandoned"]
    answer = exit_.where(answered)
    end = (answer + pd.to_timedelta(calls["handle_s"], unit="s")).where(answered)
    out = pd.DataFrame(
        {
            "call_id": calls["contact_id"],
            "caller_id": calls["customer_id"],
            "queue": calls["queue"],
            "queue_entry_time": entry.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "queue_exit_time": exit_.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "answer_time": answer.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "end_time": end.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "outcome": answered.map({True: "ANSWERED", False: "ABANDONED"}),
            "agent_id": calls["agent_id"],
            "wrap_code": calls["reason"],
            "first_contact_resolved": calls["resolved_first_contact"].map({True: "Y", False: "N"}),
        }
    )
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _sources_text(config: dict[str, Any]) -> str:
    return (
        "# sources.yaml written by the cx_framework mapping wizard; put the export next to it and run\n"
        "#   cx import sources.yaml --out data/\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    )


def render(src: state.Source) -> None:
    """The wizard section of the Data page."""
    st.subheader("4 · Map a raw export (mapping wizard)")
    st.caption(
        "Have an ACD call-detail export, a contact-centre platform's contact records or an HRIS extract instead "
        "of the contract tables? Upload it, check the suggested mapping of its columns, and preview the result."
    )
    presets = list_presets()
    c1, c2 = st.columns(2)
    if st.session_state.pop("cx_wizard_example", False):
        # set before the widgets exist: the example is a call-detail export of contacts
        st.session_state["wiz_table"] = "contacts"
        st.session_state["wiz_preset"] = "generic_cdr"
    table = c1.selectbox("Contract table the export fills", TABLES, key="wiz_table")
    fitting = [name for name, p in presets.items() if p["table"] == table]
    preset_name = c2.selectbox(
        "Preset for a known export",
        [NO_PRESET, *fitting],
        format_func=lambda n: n if n == NO_PRESET else f"{n} — {presets[n]['title']}",
        key="wiz_preset",
    )
    preset = None if preset_name == NO_PRESET else preset_name
    if preset:
        st.caption(
            f"Preset columns follow {presets[preset]['documentation']}. {presets[preset].get('notes', '')}"
        )
    u1, u2 = st.columns([3, 1])
    file = u1.file_uploader("Raw export (CSV or Parquet)", type=["csv", "parquet", "pq"], key="wiz_upload")
    if file is not None and st.session_state.get("cx_wizard_file_id") != file.file_id:
        st.session_state["cx_wizard_file_id"] = file.file_id
        _keep_raw(file.getvalue(), file.name)
    if u2.button(
        "Try an example export",
        key="wiz_example",
        help="A generic call-detail export made from the current data's calls.",
    ):
        _keep_raw(example_export(state.tables(src)), "example_calls.csv")
        st.session_state["cx_wizard_example"] = True
        st.rerun()
    raw = st.session_state.get(RAW)
    if raw is None:
        st.caption("Upload an export (or try the example) to see the suggested mapping.")
        return
    st.markdown(f"**{raw['name']}** — {len(raw['columns'])} columns: {', '.join(raw['columns'][:30])}")
    marker = (raw["path"], table, preset)
    if st.session_state.get("cx_wizard_marker") != marker:
        st.session_state["cx_wizard_marker"] = marker
        st.session_state["cx_wizard_mapping"] = suggest_mapping(raw["columns"], table, preset=preset)
    mapping = st.session_state["cx_wizard_mapping"]
    edited = st.data_editor(
        mapping,
        key=f"wiz_editor_{table}_{preset}",
        hide_index=True,
        width="stretch",
        disabled=["contract_column", "kind"],
        column_config={
            "contract_column": st.column_config.TextColumn("Contract column"),
            "kind": st.column_config.TextColumn("Type"),
            "source_column": st.column_config.SelectboxColumn("Source column", options=["", *raw["columns"]]),
            "constant": st.column_config.TextColumn("…or a constant", help="e.g. phone for channel"),
            "unit": st.column_config.SelectboxColumn(
                "Unit", options=["", *UNITS], help="converted to seconds / shares"
            ),
            "format": st.column_config.TextColumn("Date format", help="strptime, e.g. %d/%m/%Y %H:%M"),
            "true_values": st.column_config.TextColumn(
                "Values meaning yes", help="comma-separated, for yes/no columns"
            ),
            "spec": st.column_config.TextColumn(
                "Full spec (YAML)", help="sum / duration / value map; overrides the rest"
            ),
        },
    )
    o1, o2, o3 = st.columns(3)
    zone = o1.text_input("Time zone of the export's timestamps", "UTC", key="wiz_zone")
    derive = o2.checkbox(
        "Also derive half-hourly intervals from these calls",
        value=table == "contacts",
        disabled=table != "contacts",
        key="wiz_derive",
    )
    config = mapping_to_sources(table, raw["path"], edited, timezone="UTC", derive_intervals=derive)
    if zone.strip() and zone.strip() != "UTC":
        # naive timestamps of the export are read in this zone and written in UTC
        config["tables"][table]["timezone"] = zone.strip()
    download = {
        **config,
        "tables": {**config["tables"], table: {**config["tables"][table], "file": raw["name"]}},
    }

    st.markdown("**Validation preview**")
    try:
        data = read_sources(parse_sources(config, file="(mapping wizard)"))
    except CxError as exc:
        st.error(str(exc), icon=":material/error:")
        data = None
    if data is not None:
        report = data.report
        st.dataframe(report.frame(), hide_index=True, width="stretch")
        for r in report.tables.values():
            for reason in r.reasons.itertuples(index=False):
                st.warning(
                    f"{r.table}: {reason.rows:,} row(s) rejected — {reason.column}: {reason.check} (e.g. {reason.examples})"
                )
            for note in r.notes:
                st.info(f"{r.table}: {note}")
        st.dataframe(data.tables[table].head(20), hide_index=True, width="stretch")
        if o3.button("Run the pages on this data", type="primary", key="wiz_use"):
            from cx_framework.io import write_table

            uploaded = st.session_state.setdefault("cx_uploaded_ok", {})
            for name, frame in data.tables.items():
                write_table(frame, Path(state.upload_dir()) / f"{name}.parquet")
                uploaded[name] = {
                    "marker": f"wizard:{raw['path']}",
                    "rows": len(frame),
                    "name": f"{raw['name']} (mapped)",
                }
            st.session_state[state.USE_UPLOAD] = True
            st.session_state["cx_switch_message"] = (
                f"Switched: {', '.join(data.tables)} from {raw['name']} through the mapping; other tables from the "
                "current data."
            )
            st.rerun()
    st.download_button(
        "Download sources.yaml",
        _sources_text(download).encode("utf-8"),
        file_name="sources.yaml",
        mime="text/yaml",
        key="wiz_download",
    )
