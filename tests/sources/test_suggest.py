"""Auto-suggested mappings and the sources.yaml they produce."""

from __future__ import annotations

import yaml

from cx_framework.sources import parse_sources, read_sources
from cx_framework.sources.suggest import mapping_to_sources, suggest_mapping

from .test_presets import GENERIC, TALKDESK


def test_suggestion_uses_names_and_synonyms():
    columns = [
        "CallID",
        "ANI",
        "Queue Name",
        "Arrival Time",
        "Wait Time",
        "Talk Time",
        "Outcome",
        "Agent",
        "FCR",
        "Wrap Code",
    ]
    m = suggest_mapping(columns, "contacts").set_index("contract_column")["source_column"]
    assert m["contact_id"] == "CallID" and m["customer_id"] == "ANI" and m["queue"] == "Queue Name"
    assert m["timestamp"] == "Arrival Time" and m["wait_s"] == "Wait Time" and m["handle_s"] == "Talk Time"
    assert m["abandoned"] == "Outcome" and m["agent_id"] == "Agent" and m["resolved_first_contact"] == "FCR"
    assert m["reason"] == "Wrap Code"
    assert m["channel"] == ""  # nothing fits: left for the user (or a constant)
    used = [c for c in m if c]
    assert len(used) == len(set(used))  # one source column, one target


def test_preset_suggestion_keeps_value_maps_as_true_values():
    header = TALKDESK.splitlines()[0].split(",")
    m = suggest_mapping(header, "contacts", preset="talkdesk_calls").set_index("contract_column")
    assert m.loc["contact_id", "source_column"] == "call_id"
    assert m.loc["channel", "constant"] == "phone"
    assert "short_abandoned: true" in m.loc["abandoned", "spec"]


def test_mapping_round_trips_through_sources_yaml(write_sources, tmp_path):
    header = GENERIC.splitlines()[0].split(",")
    m = suggest_mapping(header, "contacts", preset="generic_cdr")
    m.loc[m["contract_column"] == "resolved_first_contact", ["constant", "spec"]] = ["true", ""]
    m.loc[m["contract_column"] == "wait_s", ["source_column", "constant", "spec"]] = ["", "0", ""]
    m.loc[m["contract_column"] == "abandoned", ["spec", "source_column", "true_values"]] = [
        "",
        "outcome",
        "ABANDONED",
    ]
    cfg = mapping_to_sources("contacts", "cdr.csv", m, derive_intervals=True)
    parse_sources(yaml.safe_load(yaml.safe_dump(cfg)))  # valid sources.yaml
    path = write_sources(cfg, {"cdr.csv": GENERIC})
    data = read_sources(path)
    assert data.report.tables["contacts"].rows_rejected == 0, data.report.summary()
    contacts = data.tables["contacts"]
    assert contacts["abandoned"].tolist() == [False, True, False]
    assert contacts["wait_s"].tolist() == [0.0, 0.0, 0.0]
    assert data.tables["intervals"]["offered"].sum() == 3
