"""Each preset on a small file written from the vendor's documented columns."""

from __future__ import annotations

import pandas as pd
import pytest

from cx_framework.sources import list_presets, read_sources


def test_every_preset_cites_its_documentation():
    presets = list_presets()
    assert {"generic_cdr", "amazon_connect_ctr", "talkdesk_calls", "bamboohr_employees"} <= set(presets)
    for name, spec in presets.items():
        assert spec["documentation"], name
        assert spec["table"] in ("contacts", "intervals", "employees"), name
    assert presets["amazon_connect_ctr"]["documentation"].startswith("https://docs.aws.amazon.com/connect/")
    assert presets["talkdesk_calls"]["documentation"].startswith("https://docs.talkdesk.com/")


GENERIC = """call_id,caller_id,queue,queue_entry_time,queue_exit_time,answer_time,end_time,outcome,agent_id,wrap_code
C1,+441,billing,2024-03-01 09:00:05,2024-03-01 09:00:15,2024-03-01 09:00:15,2024-03-01 09:05:15,ANSWERED,A1,bill_query
C2,+442,billing,2024-03-01 09:10:00,2024-03-01 09:11:00,,,ABANDONED,,
C3,+443,sales,2024-03-01 09:20:00,2024-03-01 09:20:30,2024-03-01 09:20:30,2024-03-01 09:30:30,ANSWERED,A2,new_order
"""


def test_generic_cdr(write_sources):
    path = write_sources(
        {
            "tables": {
                "contacts": {
                    "preset": "generic_cdr",
                    "file": "cdr.csv",
                    "columns": {"resolved_first_contact": {"constant": True}},
                }
            }
        },
        {"cdr.csv": GENERIC},
    )
    frame = read_sources(path).tables["contacts"]
    assert frame["wait_s"].tolist() == [10.0, 60.0, 30.0]  # queue exit - queue entry
    assert frame["handle_s"].tolist() == [300.0, 0.0, 600.0]  # end - answer; never answered -> 0
    assert frame["abandoned"].tolist() == [False, True, False]
    assert frame["reason"].tolist() == ["bill_query", "unknown", "new_order"]


# Amazon Connect contact records, flattened: field names from the contact records data model
# (ContactId, Channel, InitiationMethod, Queue.EnqueueTimestamp, Queue.Duration, Agent.*), ISO UTC timestamps.
CONNECT = (
    "ContactId,Channel,InitiationMethod,InitiationTimestamp,DisconnectTimestamp,CustomerEndpoint.Address,"
    "Queue.Name,Queue.EnqueueTimestamp,Queue.DequeueTimestamp,Queue.Duration,Agent.Username,"
    "Agent.ConnectedToAgentTimestamp,Agent.AgentInteractionDuration,Agent.CustomerHoldDuration,"
    "Agent.AfterContactWorkDuration,Attributes.reason\n"
    "c-1,VOICE,INBOUND,2024-07-01T08:59:50Z,2024-07-01T09:06:00Z,+14155550100,Billing,2024-07-01T09:00:00Z,"
    "2024-07-01T09:00:12Z,12,jdoe,2024-07-01T09:00:12Z,300,20,40,bill\n"
    "c-2,VOICE,INBOUND,2024-07-01T09:01:50Z,2024-07-01T09:03:30Z,+14155550101,Billing,2024-07-01T09:02:00Z,"
    "2024-07-01T09:03:30Z,90,,,,,,bill\n"
    "c-3,VOICE,OUTBOUND,2024-07-01T09:05:00Z,2024-07-01T09:09:00Z,+14155550102,,,,,jdoe,"
    "2024-07-01T09:05:10Z,230,0,10,\n"
    "c-4,TASK,API,2024-07-01T09:05:00Z,2024-07-01T09:09:00Z,,Billing,2024-07-01T09:05:00Z,"
    "2024-07-01T09:06:00Z,60,jdoe,2024-07-01T09:06:00Z,100,0,0,\n"
    "c-5,CHAT,INBOUND,2024-07-01T09:10:00Z,2024-07-01T09:20:00Z,visitor-9,Sales,2024-07-01T09:10:05Z,"
    "2024-07-01T09:10:35Z,30,asmith,2024-07-01T09:10:35Z,500,0,60,order\n"
)


def test_amazon_connect_contact_records(write_sources):
    path = write_sources(
        {
            "timezone": "America/Los_Angeles",
            "tables": {
                "contacts": {
                    "preset": "amazon_connect_ctr",
                    "file": "ctr.csv",
                    "columns": {"reason": "Attributes.reason", "resolved_first_contact": {"constant": True}},
                }
            },
        },
        {"ctr.csv": CONNECT},
    )
    data = read_sources(path)
    frame = data.tables["contacts"]
    assert frame["contact_id"].tolist() == ["c-1", "c-2", "c-5"]  # outbound and task contacts left out
    assert frame["channel"].tolist() == ["phone", "phone", "chat"]
    assert frame["abandoned"].tolist() == [False, True, False]
    assert frame["handle_s"].tolist() == [360.0, 0.0, 560.0]  # interaction + hold + after-contact work
    assert frame["wait_s"].tolist() == [12.0, 90.0, 30.0]
    # 09:00 UTC = 02:00 PDT (UTC-7)
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2024-07-01 02:00:00")
    assert data.report.tables["contacts"].rows_filtered == 2


# Talkdesk Calls report fields (call_id, type, start_at, ..., wait_time, abandon_time, talk_time, hold_time).
TALKDESK = (
    "call_id,callsid,type,start_at,end_at,talkdesk_phone_number,contact_phone_number,user_id,user_name,"
    "total_time,talk_time,wait_time,hold_time,abandon_time,total_ringing_time,disposition_code,ring_groups\n"
    "a1,CA1,inbound,2026-04-23T10:00:26Z,2026-04-23T10:06:50Z,+12025550102,+12025550103,u1,Jordan Smith,"
    "384,350,14,20,0,5,Billing question,billing\n"
    "a2,CA2,abandoned,2026-04-23T10:02:00Z,2026-04-23T10:03:10Z,+12025550102,+12025550104,,,70,0,0,0,70,0,,billing\n"
    "a3,CA3,outbound,2026-04-23T10:22:26Z,2026-04-23T10:22:50Z,+12025550102,+12025550105,u1,Jordan Smith,"
    "24,20,0,0,0,0,Attempting Contact,agents\n"
    "a4,CA4,short_abandoned,2026-04-23T10:40:00Z,2026-04-23T10:40:04Z,+12025550102,+12025550106,,,4,0,0,0,4,0,,sales\n"
)


def test_talkdesk_calls_report(write_sources):
    path = write_sources(
        {
            "tables": {
                "contacts": {
                    "preset": "talkdesk_calls",
                    "file": "calls.csv",
                    "columns": {"resolved_first_contact": {"constant": True}},
                }
            }
        },
        {"calls.csv": TALKDESK},
    )
    frame = read_sources(path).tables["contacts"]
    assert frame["contact_id"].tolist() == ["a1", "a2", "a4"]
    assert frame["abandoned"].tolist() == [False, True, True]
    assert frame["wait_s"].tolist() == [14.0, 70.0, 4.0]
    assert frame["handle_s"].tolist() == [370.0, 0.0, 0.0]
    assert frame["reason"].tolist() == ["Billing question", "none", "none"]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2026-04-23 10:00:26")


# BambooHR standard field names (employeeNumber, department, division, jobTitle, payRate, hireDate,
# terminationDate); empty dates come as 0000-00-00.
BAMBOO = (
    "id,employeeNumber,firstName,lastName,department,division,jobTitle,payRate,payPer,hireDate,terminationDate\n"
    '40,E-007,Ada,Lovelace,Contact centre,North,Agent,"31,500.00 GBP",Year,2021-02-01,0000-00-00\n'
    "41,E-008,Alan,Turing,Billing,Back office,Specialist,38000.00 GBP,Year,2019-09-16,2024-05-31\n"
)


def test_bamboohr_employees(write_sources):
    path = write_sources(
        {"tables": {"employees": {"preset": "bamboohr_employees", "file": "emp.csv"}}}, {"emp.csv": BAMBOO}
    )
    frame = read_sources(path).tables["employees"]
    assert frame["employee_id"].tolist() == ["E-007", "E-008"]
    assert frame["team"].tolist() == ["North", "Back office"]
    assert frame["base_salary"].tolist() == [31500.0, 38000.0]
    assert frame["leave_date"].isna().tolist() == [True, False]
    assert frame["leave_date"].iloc[1] == pd.Timestamp("2024-05-31")


def test_preset_under_the_wrong_table(write_sources):
    from cx_framework.errors import ConfigError
    from cx_framework.sources import load_sources

    path = write_sources({"tables": {"customers": {"preset": "bamboohr_employees", "file": "emp.csv"}}})
    with pytest.raises(ConfigError, match="tables.customers.preset.*employees"):
        load_sources(path)
