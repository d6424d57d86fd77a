"""Data page, mapping wizard: example export -> suggested mapping -> validation preview -> pages run on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))


def test_wizard_maps_an_example_export_and_switches_the_session(monkeypatch):
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    at = AppTest.from_file(str(APPS / "views" / "data.py"), default_timeout=240).run()
    assert not at.exception
    at.button(key="wiz_example").click().run()
    assert not at.exception
    assert at.selectbox(key="wiz_preset").value == "generic_cdr"
    # the suggested mapping: preset columns found in the export
    editor = at.session_state["cx_wizard_mapping"].set_index("contract_column")
    assert editor.loc["contact_id", "source_column"] == "call_id"
    assert "duration" in editor.loc["wait_s", "spec"]
    # resolved_first_contact is not in the preset: suggested from the export's column name
    assert editor.loc["resolved_first_contact", "source_column"] == "first_contact_resolved"
    assert not at.error, [
        e.value for e in at.error
    ]  # Y/N reads as yes/no: the preview validates as suggested
    # a mapping mistake shows in the preview as the library's message, naming the key
    broken = at.session_state["cx_wizard_mapping"].copy()
    broken.loc[broken["contract_column"] == "queue", "source_column"] = ""
    at.session_state["cx_wizard_mapping"] = broken
    at.run()
    errors = [e.value for e in at.error]
    assert errors and "tables.contacts.columns" in errors[0] and "queue" in errors[0]
    assert not [d.value for d in at.dataframe if "rows_kept" in d.value.columns]


def test_wizard_preview_and_use(monkeypatch):
    from cx_framework.sources.suggest import suggest_mapping

    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    at = AppTest.from_file(str(APPS / "views" / "data.py"), default_timeout=240).run()
    at.button(key="wiz_example").click().run()
    mapping = at.session_state["cx_wizard_mapping"]
    assert isinstance(mapping, type(suggest_mapping(["a"], "contacts")))
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    report = next(d.value for d in at.dataframe if "rows_kept" in d.value.columns).set_index("table")
    assert report.loc["contacts", "rows_kept"] == 3000 and report.loc["contacts", "rows_rejected"] == 0
    assert bool(report.loc["intervals", "derived"])
    assert any("ESTIMATED" in i.value for i in at.info)
    at.button(key="wiz_use").click().run()
    assert not at.exception
    assert at.session_state["cx_use_upload"] is True
    assert at.session_state["cx_uploaded_ok"]["intervals"]["rows"] == report.loc["intervals", "rows_kept"]
    # the downloadable sources.yaml reproduces the preview with cx import (file path = the export's name)
    from cx_framework.sources.suggest import mapping_to_sources

    config = mapping_to_sources("contacts", "example_calls.csv", mapping, derive_intervals=True)
    assert yaml.safe_load(yaml.safe_dump(config))["tables"]["contacts"]["file"] == "example_calls.csv"
