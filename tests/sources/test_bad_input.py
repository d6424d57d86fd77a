"""Bad input: each a CxError naming the mapping key and what to do."""

from __future__ import annotations

import pytest

from cx_framework.errors import ConfigError, CxError
from cx_framework.sources import load_sources, read_sources

from .test_mapping import CALLS, _contacts


def _raise(write_sources, table_cfg, files=None, top=None) -> CxError:
    path = write_sources({**(top or {}), "tables": {"contacts": table_cfg}}, files or {"calls.csv": CALLS})
    with pytest.raises(CxError) as info:
        read_sources(path)
    return info.value


def test_missing_source_column_names_key_and_closest_columns(write_sources):
    err = _raise(write_sources, _contacts(columns={"queue": "queu_name"}))
    assert isinstance(err, ConfigError)
    assert "tables.contacts.columns.queue.column" in str(err)
    assert "'queu_name'" in str(err) and "'queue'" in str(err)  # suggests the closest source column


def test_two_targets_from_one_column(write_sources):
    err = _raise(write_sources, _contacts(columns={"customer_id": "call_id"}))
    assert "tables.contacts.columns.customer_id" in str(err)
    assert "two targets" in str(err) and "contact_id" in str(err)


def test_value_map_leaving_values_unmapped_lists_them(write_sources):
    err = _raise(
        write_sources, _contacts(columns={"abandoned": {"column": "outcome", "values": {"ANS": False}}})
    )
    assert "tables.contacts.columns.abandoned.values" in str(err)
    assert "'ABD' (1 rows)" in str(err) and "default" in str(err)


def test_value_map_default_covers_the_rest(write_sources):
    path = write_sources(
        {
            "tables": {
                "contacts": _contacts(
                    columns={"abandoned": {"column": "outcome", "values": {"ABD": True}, "default": False}}
                )
            }
        },
        {"calls.csv": CALLS},
    )
    assert read_sources(path).tables["contacts"]["abandoned"].tolist() == [False, True, False, False]


def test_unknown_time_zone(write_sources):
    path = write_sources(
        {"timezone": "Europe/Londn", "tables": {"contacts": _contacts()}}, {"calls.csv": CALLS}
    )
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert "key 'timezone'" in str(info.value) and "Europe/London" in str(info.value)


def test_unknown_column_time_zone(write_sources):
    bad = _contacts(columns={"timestamp": {"column": "arrived", "timezone": "Mars/Olympus"}})
    path = write_sources({"tables": {"contacts": bad}}, {"calls.csv": CALLS})
    with pytest.raises(ConfigError, match=r"tables.contacts.columns.timestamp.*Mars/Olympus"):
        load_sources(path)


def test_file_in_another_encoding(write_sources):
    text = CALLS.replace("Billing", "Facturación")
    err = _raise(write_sources, _contacts(), files={"calls.csv": text.encode("latin-1")})
    assert "tables.contacts.encoding" in str(err) and "latin-1" in str(err)


def test_other_encoding_reads_when_declared(write_sources):
    text = CALLS.replace("Billing", "Facturación")
    path = write_sources(
        {"tables": {"contacts": _contacts(encoding="latin-1")}}, {"calls.csv": text.encode("latin-1")}
    )
    assert "Facturación" in read_sources(path).tables["contacts"]["queue"].tolist()


def test_unknown_key_and_unknown_preset(write_sources):
    path = write_sources({"tables": {"contacts": {**_contacts(), "colums": {}}}})
    with pytest.raises(ConfigError, match=r"tables.contacts.colums.*unknown key"):
        load_sources(path)
    path = write_sources({"tables": {"contacts": {**_contacts(), "preset": "generic_cdrr"}}})
    with pytest.raises(ConfigError, match=r"tables.contacts.preset.*generic_cdr"):
        load_sources(path)


def test_unknown_contract_column_and_unmapped_contract_column(write_sources):
    err = _raise(write_sources, _contacts(columns={"wait_seconds": "waited_min"}))
    assert "'wait_seconds'" in str(err) and "wait_s" in str(err)
    cfg = _contacts()
    del cfg["columns"]["reason"]
    err = _raise(write_sources, cfg)
    assert "tables.contacts.columns" in str(err) and "reason" in str(err) and "constant" in str(err)


def test_missing_file_and_no_location(write_sources):
    err = _raise(write_sources, _contacts(file="nope_*.csv"))
    assert "tables.contacts.file" in str(err) and "no file matches" in str(err)
    cfg = _contacts()
    del cfg["file"]
    path = write_sources({"tables": {"contacts": cfg}})
    with pytest.raises(ConfigError, match="exactly one of 'file'"):
        load_sources(path)


def test_filter_on_missing_column(write_sources):
    err = _raise(write_sources, _contacts(filters=[{"column": "directon", "op": "eq", "value": "in"}]))
    assert "tables.contacts.filters[0].column" in str(err) and "'direction'" in str(err)
