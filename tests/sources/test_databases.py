"""A real database: the same rows read from a PostgreSQL table, a DuckDB database file and a CSV file through the
mapping give the same contract table; connection and query mistakes are clear errors.

PostgreSQL comes from ``CX_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway cluster and exports it). In CI
(``CI`` set) a missing or unreachable server fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pytest

from cx_framework.errors import ConfigError
from cx_framework.sources import read_sources

ROWS = pd.DataFrame(
    {
        "call_id": ["C1", "C2", "C3", "C4"],
        "caller_id": ["+441", "+442", "+443", "+441"],
        "queue": ["billing", "billing", "sales", "billing"],
        "queue_entry_time": pd.to_datetime(
            ["2024-03-01 09:00:05", "2024-03-01 09:10:00", "2024-03-01 09:20:00", "2024-03-01 09:40:00"]
        ),
        "queue_exit_time": pd.to_datetime(
            ["2024-03-01 09:00:15", "2024-03-01 09:11:00", "2024-03-01 09:20:30", "2024-03-01 09:40:05"]
        ),
        "answer_time": pd.to_datetime(
            ["2024-03-01 09:00:15", None, "2024-03-01 09:20:30", "2024-03-01 09:40:05"]
        ),
        "end_time": pd.to_datetime(
            ["2024-03-01 09:05:15", None, "2024-03-01 09:30:30", "2024-03-01 09:44:05"]
        ),
        "outcome": ["ANSWERED", "ABANDONED", "ANSWERED", "ANSWERED"],
        "agent_id": ["A1", None, "A2", "A1"],
        "wrap_code": ["bill_query", None, "new_order", "bill_query"],
        "fcr": [True, False, True, False],
    }
)


def _contacts(location: dict) -> dict:
    return {"preset": "generic_cdr", **location, "columns": {"resolved_first_contact": "fcr"}}


@pytest.fixture(scope="module")
def pg_url():
    url = os.environ.get("CX_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide PostgreSQL: .ci/run starts one and exports CX_TEST_POSTGRES_URL")
        pytest.skip(
            "set CX_TEST_POSTGRES_URL=postgresql://user:password@127.0.0.1:PORT/db to run (see .ci/run)"
        )
    return url


@pytest.fixture(scope="module")
def pg_table(pg_url):
    import psycopg

    schema = f"cx_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(
            f"CREATE TABLE {schema}.calls (call_id text, caller_id text, queue text, queue_entry_time timestamp, "
            "queue_exit_time timestamp, answer_time timestamp, end_time timestamp, outcome text, agent_id text, "
            "wrap_code text, fcr boolean)"
        )
        with con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {schema}.calls VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    tuple(
                        None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)
                        for v in row
                    )
                    for row in ROWS.itertuples(index=False)
                ],
            )
    yield f"{schema}.calls"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def from_csv(write_sources):
    text = ROWS.assign(fcr=ROWS["fcr"].map({True: "yes", False: "no"})).to_csv(index=False)
    path = write_sources({"tables": {"contacts": _contacts({"file": "calls.csv"})}}, {"calls.csv": text})
    return read_sources(path).tables["contacts"]


def test_postgres_table_equals_file(write_sources, pg_url, pg_table, from_csv, monkeypatch):
    monkeypatch.setenv("CX_TEST_WAREHOUSE", pg_url)
    path = write_sources(
        {
            "connections": {"warehouse": {"url_env": "CX_TEST_WAREHOUSE"}},
            "tables": {"contacts": _contacts({"connection": "warehouse", "table": pg_table})},
        }
    )
    frame = read_sources(path).tables["contacts"]
    pd.testing.assert_frame_equal(frame, from_csv)


def test_postgres_query_equals_file(write_sources, pg_url, pg_table, from_csv):
    path = write_sources(
        {
            "connections": {"warehouse": {"url": pg_url}},
            "tables": {
                "contacts": _contacts(
                    {"connection": "warehouse", "query": f"SELECT * FROM {pg_table} ORDER BY call_id"}
                )
            },
        }
    )
    pd.testing.assert_frame_equal(read_sources(path).tables["contacts"], from_csv)


def test_duckdb_file_equals_file(write_sources, tmp_path, from_csv):
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("rows", ROWS)
        con.execute("CREATE TABLE calls AS SELECT * FROM rows")
    path = write_sources(
        {"tables": {"contacts": _contacts({"duckdb": "warehouse.duckdb", "table": "calls"})}}
    )
    pd.testing.assert_frame_equal(read_sources(path).tables["contacts"], from_csv)


def test_duckdb_file_query_equals_file(write_sources, tmp_path, from_csv):
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("rows", ROWS)
        con.execute("CREATE SCHEMA acd; CREATE TABLE acd.calls AS SELECT * FROM rows")
    query = {"duckdb": "warehouse.duckdb", "query": "SELECT * FROM acd.calls ORDER BY call_id"}
    path = write_sources({"tables": {"contacts": _contacts(query)}})
    pd.testing.assert_frame_equal(read_sources(path).tables["contacts"], from_csv)
    # a failing query names the key and the database file
    bad = write_sources({"tables": {"contacts": _contacts({**query, "query": "SELECT * FROM acd.nope"})}})
    with pytest.raises(ConfigError, match=r"tables.contacts.query.*query failed in DuckDB file"):
        read_sources(bad)


def test_wrong_credentials(write_sources, pg_url):
    bad = (
        pg_url.replace("://cx:", "://cx:not-the-password-", 1)
        if "://cx:" in pg_url
        else pg_url.replace("://", "://nobody:x@", 1)
    )
    path = write_sources(
        {
            "connections": {"w": {"url": bad}},
            "tables": {"contacts": _contacts({"connection": "w", "table": "x"})},
        }
    )
    with pytest.raises(ConfigError) as info:
        read_sources(path)
    message = str(info.value)
    assert "connections.w" in message and "wrong user name or password" in message
    assert "not-the-password" not in message  # the password is not echoed


def test_unreachable_database(write_sources):
    path = write_sources(
        {
            "connections": {"w": {"url": "postgresql://u:p@127.0.0.1:1/db"}},
            "tables": {"contacts": _contacts({"connection": "w", "table": "x"})},
        }
    )
    with pytest.raises(ConfigError, match=r"connections.w.*unreachable.*host and port"):
        read_sources(path)


def test_query_returning_wrong_columns(write_sources, pg_url, pg_table):
    path = write_sources(
        {
            "connections": {"w": {"url": pg_url}},
            "tables": {
                "contacts": _contacts(
                    {"connection": "w", "query": f"SELECT call_id, caller_id AS ani FROM {pg_table}"}
                )
            },
        }
    )
    with pytest.raises(ConfigError) as info:
        read_sources(path)
    assert "tables.contacts.columns.customer_id.column" in str(info.value) and "ani" in str(info.value)


def test_missing_table_and_failing_query(write_sources, pg_url, pg_table):
    schema = pg_table.split(".")[0]
    path = write_sources(
        {
            "connections": {"w": {"url": pg_url}},
            "tables": {"contacts": _contacts({"connection": "w", "table": f"{schema}.cals"})},
        }
    )
    with pytest.raises(ConfigError, match=r"tables.contacts.table.*not found.*calls"):
        read_sources(path)
    path = write_sources(
        {
            "connections": {"w": {"url": pg_url}},
            "tables": {"contacts": _contacts({"connection": "w", "query": "SELEC 1"})},
        }
    )
    with pytest.raises(ConfigError, match=r"tables.contacts.query.*query failed"):
        read_sources(path)


def test_unset_url_env(write_sources, monkeypatch):
    monkeypatch.delenv("CX_NOT_SET_URL", raising=False)
    path = write_sources(
        {
            "connections": {"w": {"url_env": "CX_NOT_SET_URL"}},
            "tables": {"contacts": _contacts({"connection": "w", "table": "x"})},
        }
    )
    with pytest.raises(ConfigError, match=r"connections.w.url_env.*CX_NOT_SET_URL") as caught:
        read_sources(path)
    assert str(path) in str(caught.value)  # the sources file is named too
