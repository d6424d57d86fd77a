"""sources.yaml mapping: column mapping, value maps, units, timestamps and zones, constants, filters, rejects."""

from __future__ import annotations

import pandas as pd
import pytest

from cx_framework.errors import ConfigError
from cx_framework.sources import load_sources, read_sources

CALLS = """call_id,caller,queue,arrived,waited_min,talk_min,outcome,agent,fcr,direction
1,+4401,Billing,01/03/2024 09:00:05,0.5,5,ANS,A1,Y,in
2,+4402,Billing,01/03/2024 09:10:00,1.25,0,ABD,,N,in
3,+4403,Sales,01/03/2024 09:20:00,0,10,ANS,A2,Y,in
4,+4404,Sales,01/03/2024 09:25:00,0,3,ANS,A2,Y,out
"""


def _contacts(**overrides):
    columns = {
        "contact_id": "call_id",
        "customer_id": "caller",
        "timestamp": {"column": "arrived", "format": "%d/%m/%Y %H:%M:%S"},
        "channel": {"constant": "phone"},
        "queue": "queue",
        "reason": {"constant": "unknown"},
        "wait_s": {"column": "waited_min", "unit": "minutes"},
        "handle_s": {"column": "talk_min", "unit": "minutes"},
        "abandoned": {"column": "outcome", "values": {"ANS": False, "ABD": True}},
        "resolved_first_contact": "fcr",
        "agent_id": "agent",
    }
    columns.update(overrides.pop("columns", {}))
    return {"file": "calls.csv", "columns": columns, **overrides}


def test_mapping_converts_units_values_formats_and_filters(write_sources):
    path = write_sources(
        {"tables": {"contacts": _contacts(filters=[{"column": "direction", "op": "eq", "value": "in"}])}},
        {"calls.csv": CALLS},
    )
    data = read_sources(path)
    frame = data.tables["contacts"]
    assert frame["contact_id"].tolist() == ["1", "2", "3"]  # the outbound call is filtered out
    assert frame["wait_s"].tolist() == [30.0, 75.0, 0.0]  # minutes -> seconds
    assert frame["handle_s"].tolist() == [300.0, 0.0, 600.0]
    assert frame["abandoned"].tolist() == [False, True, False]
    assert frame["resolved_first_contact"].tolist() == [True, False, True]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 09:00:05")  # day-first format
    assert frame["agent_id"].isna().tolist() == [False, True, False]  # empty text is missing
    report = data.report.tables["contacts"]
    assert (report.rows_read, report.rows_filtered, report.rows_kept, report.rows_rejected) == (4, 1, 3, 0)


def test_time_zone_conversion_is_dst_aware(write_sources):
    text = "id,ts\na,2024-03-31 00:30:00\nb,2024-03-31 03:30:00\nc,2024-07-01T12:00:00+02:00\n"
    cols = {
        "contact_id": "id",
        "customer_id": "id_copy",
    }
    del cols
    base = _contacts()
    # one row per zone case: naive Europe/Berlin times around the spring-forward gap, converted to UTC
    path = write_sources(
        {
            "timezone": "UTC",
            "tables": {
                "contacts": {
                    **base,
                    "file": "ts.csv",
                    "columns": {
                        "contact_id": "id",
                        "customer_id": {"constant": "c"},
                        "timestamp": {"column": "ts", "timezone": "Europe/Berlin"},
                        "channel": {"constant": "phone"},
                        "queue": {"constant": "q"},
                        "reason": {"constant": "r"},
                        "wait_s": {"constant": 0},
                        "handle_s": {"constant": 0},
                        "abandoned": {"constant": False},
                        "resolved_first_contact": {"constant": True},
                        "agent_id": {"constant": "A"},
                    },
                    "filters": [{"column": "id", "op": "in", "values": ["a", "b"]}],
                }
            },
        },
        {"ts.csv": text},
    )
    frame = read_sources(path).tables["contacts"]
    # 00:30 CET (UTC+1) = 23:30 UTC the day before; 03:30 CEST (UTC+2) = 01:30 UTC
    assert frame["timestamp"].tolist() == [pd.Timestamp("2024-03-30 23:30"), pd.Timestamp("2024-03-31 01:30")]


def test_values_with_offsets_are_converted_to_the_output_zone(write_sources):
    text = "id,ts\na,2024-07-01T12:00:00Z\nb,2024-01-15T08:00:00+01:00\n"
    constant = {"constant": "x"}
    path = write_sources(
        {
            "timezone": "Europe/London",
            "tables": {
                "contacts": {
                    "file": "ts.csv",
                    "columns": {
                        "contact_id": "id",
                        "customer_id": constant,
                        "timestamp": {"column": "ts", "timezone": "offset"},
                        "channel": {"constant": "phone"},
                        "queue": constant,
                        "reason": constant,
                        "wait_s": {"constant": 0},
                        "handle_s": {"constant": 0},
                        "abandoned": {"constant": False},
                        "resolved_first_contact": {"constant": True},
                        "agent_id": constant,
                    },
                }
            },
        },
        {"ts.csv": text},
    )
    frame = read_sources(path).tables["contacts"]
    # 12:00 UTC in July = 13:00 BST; 08:00+01:00 in January = 07:00 GMT
    assert frame["timestamp"].tolist() == [pd.Timestamp("2024-07-01 13:00"), pd.Timestamp("2024-01-15 07:00")]


def test_invalid_rows_are_rejected_with_reasons(write_sources):
    calls = CALLS + "5,+4405,Sales,01/03/2024 09:50:00,-2,3,ANS,A2,Y,in\n"
    path = write_sources({"tables": {"contacts": _contacts()}}, {"calls.csv": calls})
    data = read_sources(path)
    report = data.report.tables["contacts"]
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (5, 4, 1)
    assert report.reasons["column"].tolist() == ["wait_s"]
    assert "5" not in data.tables["contacts"]["contact_id"].tolist()
    assert "rejected 1 row(s): wait_s" in data.report.summary()


def test_on_invalid_error_raises(write_sources):
    from cx_framework.errors import DataValidationError

    calls = CALLS + "5,+4405,Sales,01/03/2024 09:50:00,-2,3,ANS,A2,Y,in\n"
    path = write_sources({"tables": {"contacts": _contacts(on_invalid="error")}}, {"calls.csv": calls})
    with pytest.raises(DataValidationError, match="wait_s"):
        read_sources(path)


def test_glob_reads_several_files(write_sources):
    header, *rows = CALLS.strip().splitlines()
    files = {
        "calls_1.csv": "\n".join([header, *rows[:2]]) + "\n",
        "calls_2.csv": "\n".join([header, *rows[2:]]) + "\n",
    }
    path = write_sources({"tables": {"contacts": _contacts(file="calls_*.csv")}}, files)
    assert sorted(read_sources(path).tables["contacts"]["contact_id"]) == ["1", "2", "3", "4"]


def test_percent_and_number_extraction(write_sources):
    text = 'employeeNumber,dept,division,title,pay,hired,left\n7,cc,north,agent,"31,500.00 GBP",2020-01-06,0000-00-00\n'
    path = write_sources(
        {
            "tables": {
                "employees": {
                    "file": "emp.csv",
                    "columns": {
                        "employee_id": "employeeNumber",
                        "department": "dept",
                        "team": "division",
                        "role": "title",
                        "base_salary": {"column": "pay", "number": True},
                        "hire_date": "hired",
                        "leave_date": {"column": "left", "null_values": ["0000-00-00"]},
                    },
                }
            }
        },
        {"emp.csv": text},
    )
    frame = read_sources(path).tables["employees"]
    assert frame["base_salary"].tolist() == [31500.0]
    assert frame["employee_id"].tolist() == ["7"]
    assert frame["leave_date"].isna().all()


def test_preset_columns_can_be_overridden(write_sources):
    cfg = load_sources(
        write_sources(
            {
                "tables": {
                    "contacts": {"preset": "generic_cdr", "file": "x.csv", "columns": {"queue": "skill"}}
                }
            }
        )
    )
    columns = cfg.tables["contacts"].columns
    assert columns["queue"].column == "skill"
    assert columns["contact_id"].column == "call_id"  # from the preset


def test_first_contact_resolution_from_repeat_contacts(write_sources):
    # customer +4401 calls again 2 days later (not resolved), then not again; +4402 calls 9 days later (resolved)
    text = (
        "call_id,caller,queue,arrived,waited_min,talk_min,outcome,agent,fcr,direction\n"
        "1,+4401,Billing,01/03/2024 09:00:05,0,5,ANS,A1,,in\n"
        "2,+4402,Billing,01/03/2024 09:10:00,0,5,ANS,A1,,in\n"
        "3,+4401,Billing,03/03/2024 09:20:00,0,5,ANS,A2,,in\n"
        "4,+4402,Billing,10/03/2024 09:25:00,0,5,ANS,A2,,in\n"
    )
    cfg = _contacts(columns={"resolved_first_contact": {"no_repeat_within_days": 7}})
    path = write_sources({"tables": {"contacts": cfg}}, {"calls.csv": text})
    frame = read_sources(path).tables["contacts"].set_index("contact_id")
    assert frame["resolved_first_contact"].to_dict() == {"1": False, "2": True, "3": True, "4": True}


def test_no_repeat_only_for_resolution(write_sources):
    cfg = _contacts(columns={"abandoned": {"no_repeat_within_days": 7}})
    path = write_sources({"tables": {"contacts": cfg}}, {"calls.csv": CALLS})
    with pytest.raises(ConfigError, match="no_repeat_within_days"):
        read_sources(path)


def test_repeat_derivation_keeps_source_row_order(write_sources):
    rows = "".join(
        f"{i},+44{(7 * i) % 5},Billing,01/03/2024 09:{59 - i:02d}:00,0,5,ANS,A1,,in\n" for i in range(1, 40)
    )
    text = "call_id,caller,queue,arrived,waited_min,talk_min,outcome,agent,fcr,direction\n" + rows
    cfg = _contacts(columns={"resolved_first_contact": {"no_repeat_within_days": 7}})
    path = write_sources({"tables": {"contacts": cfg}}, {"calls.csv": text})
    assert read_sources(path).tables["contacts"]["contact_id"].tolist() == [str(i) for i in range(1, 40)]
