"""Tests of cx_framework.io: validated reads, atomic writes, data directories, export sanitising."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cx_framework.io as cxio
from cx_framework.errors import CxError, DataValidationError, InputValueError
from cx_framework.io import (
    load_data_dir,
    pseudonymise_ids,
    read_table,
    sanitize_for_export,
    write_bytes_atomic,
    write_table,
    write_text_atomic,
)
from cx_framework.schemas import REQUIRED_TABLES, validate


def _work_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["007", "007", "010"],
            "stage": ["triage", "fix", "triage"],
            "customer_id": ["k1", "k1", "k2"],
            "journey": ["billing_dispute", "billing_dispute", "order"],
            "department": ["contact_centre", "billing", "contact_centre"],
            "entered_at": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-02 10:00"]),
            "left_at": pd.to_datetime(["2024-01-01 09:00", None, "2024-01-02 10:30"]),
        }
    )


def _intervals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:30"]),
            "queue": ["billing", "billing"],
            "offered": [10, 4],
            "answered": [9, 4],
            "answered_within_threshold": [7, 4],
            "abandoned": [1, 0],
            "aht_s": [300.0, 280.0],
            "agents_staffed": [4.0, 2.0],
            "threshold_s": [20.0, 20.0],
            "short_abandons": [0, 0],
        }
    )


def _small_tables() -> dict[str, pd.DataFrame]:
    return {
        "intervals": _intervals(),
        "contacts": pd.DataFrame(
            {
                "contact_id": ["c1"],
                "customer_id": ["k1"],
                "timestamp": pd.to_datetime(["2024-01-01 08:01"]),
                "channel": ["phone"],
                "queue": ["billing"],
                "reason": ["bill"],
                "wait_s": [12.0],
                "handle_s": [300.0],
                "abandoned": [False],
                "resolved_first_contact": [True],
                "agent_id": ["a1"],
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": ["k1"],
                "segment": ["consumer"],
                "product": ["broadband"],
                "start_date": pd.to_datetime(["2022-01-01"]),
                "monthly_revenue": [30.0],
                "churn_date": pd.to_datetime([None]),
            }
        ),
        "employees": pd.DataFrame(
            {
                "employee_id": ["a1"],
                "department": ["contact_centre"],
                "team": ["t1"],
                "role": ["agent"],
                "base_salary": [28000.0],
                "hire_date": pd.to_datetime(["2020-01-01"]),
                "leave_date": pd.to_datetime([None]),
            }
        ),
        "employee_metrics": pd.DataFrame(
            {
                "period": pd.to_datetime(["2024-01-01"]),
                "employee_id": ["a1"],
                "metric": ["aht"],
                "value": [300.0],
            }
        ),
        "department_metrics": pd.DataFrame(
            {
                "period": pd.to_datetime(["2024-01-01"]),
                "department": ["contact_centre"],
                "team": [None],
                "metric": ["service_level"],
                "value": [0.8],
                "volume": [1000.0],
            }
        ),
        "work_items": _work_items(),
    }


# ----------------------------------------------------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".pq"])
def test_round_trip_keeps_values_dtypes_and_leading_zeros(tmp_path: Path, suffix: str) -> None:
    expected = validate("work_items", _work_items())
    path = write_table(expected, tmp_path / f"work_items{suffix}")
    assert path == tmp_path / f"work_items{suffix}"
    back = read_table(path, "work_items")
    pd.testing.assert_frame_equal(back, expected)
    assert back["item_id"].tolist() == ["007", "007", "010"]  # ids stay text in CSV too


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_keeps_extra_columns(tmp_path: Path, suffix: str) -> None:
    expected = validate("intervals", _intervals())
    back = read_table(write_table(expected, tmp_path / f"i{suffix}"), "intervals")
    pd.testing.assert_frame_equal(back, expected)
    assert back["short_abandons"].tolist() == [0, 0]


def test_csv_is_plain_and_without_index(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[5, 6])
    path = write_table(df, tmp_path / "t.csv")
    assert path.read_text() == "a,b\n1,x\n2,y\n"


# ----------------------------------------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------------------------------------
def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_writes_leave_no_temp_file(tmp_path: Path) -> None:
    write_table(_intervals(), tmp_path / "a.parquet")
    write_text_atomic(tmp_path / "r.html", "<p>ünïcode</p>")
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert _leftovers(tmp_path) == []
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == "<p>ünïcode</p>"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.bin", "r.html"]


def test_atomic_write_creates_parent_directories_and_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "x.txt"
    write_text_atomic(target, "hi")
    assert target.read_text() == "hi"
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_failed_write_preserves_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "work_items.csv"
    write_table(_work_items(), path)
    before = path.read_bytes()

    def broken_to_csv(self: pd.DataFrame, target: object, *args: object, **kwargs: object) -> None:
        Path(str(target)).write_text("item_id,sta")  # half-written, then the disk "fills up"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(CxError, match=r"work_items\.csv: No space left on device; the previous file"):
        write_table(_work_items().iloc[:1], path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_failed_replace_preserves_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "note.txt"
    write_text_atomic(path, "old")

    def broken_replace(src: object, dst: object) -> None:
        raise PermissionError("locked by another process")

    monkeypatch.setattr(cxio.os, "replace", broken_replace)
    with pytest.raises(CxError, match="note.txt: locked by another process"):
        write_text_atomic(path, "new")
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_interrupt_during_write_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_table(_intervals(), tmp_path / "x.parquet")
    assert list(tmp_path.iterdir()) == []


def test_write_table_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"unsupported file type; use one of \.csv"):
        write_table(_intervals(), tmp_path / "x.xlsx")
    with pytest.raises(InputValueError, match="expects a pandas DataFrame"):
        write_table([1, 2], tmp_path / "x.csv")  # type: ignore[arg-type]
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(CxError, match="it is a directory"):
        write_table(_intervals(), tmp_path / "d.csv")
    assert list(tmp_path.iterdir()) == [tmp_path / "d.csv"]


# ----------------------------------------------------------------------------------------------------------------
# bad files
# ----------------------------------------------------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "contacts.csv"
    with pytest.raises(DataValidationError, match="File not found: .*nowhere/contacts.csv") as info:
        read_table(path, "contacts")
    assert info.value.file == str(path)
    assert info.value.table == "contacts"


def test_unknown_table_fails_before_reading(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="Unknown table 'contact'"):
        read_table(tmp_path / "missing.csv", "contact")


def test_empty_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("")
    with pytest.raises(DataValidationError, match=r"contacts.csv is empty \(no header, no rows\)"):
        read_table(path, "contacts")


def test_header_only_csv_is_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "work_items.csv"
    path.write_text("item_id,stage,customer_id,journey,department,entered_at,left_at\n")
    with pytest.raises(DataValidationError, match=r"work_items.csv has a header line but no data rows"):
        read_table(path, "work_items")


def test_empty_and_corrupt_parquet(tmp_path: Path) -> None:
    empty = tmp_path / "a.parquet"
    empty.write_bytes(b"")
    with pytest.raises(
        DataValidationError, match="a.parquet: cannot read table 'intervals': the file is empty"
    ):
        read_table(empty, "intervals")
    corrupt = tmp_path / "b.parquet"
    corrupt.write_bytes(b"this is not parquet at all")
    with pytest.raises(DataValidationError, match="b.parquet: .*not a valid Parquet file"):
        read_table(corrupt, "intervals")


def test_csv_parse_error_is_named(tmp_path: Path) -> None:
    path = tmp_path / "work_items.csv"
    path.write_text('item_id,stage\n"w1,triage\nw2,fix\n')  # unterminated quote
    with pytest.raises(DataValidationError, match="work_items.csv: cannot parse CSV for table 'work_items'"):
        read_table(path, "work_items")


def test_ragged_csv_is_named(tmp_path: Path) -> None:
    path = tmp_path / "work_items.csv"
    path.write_text("item_id,stage\nw1,triage\nw2,fix,extra,fields\n")
    with pytest.raises(DataValidationError, match="cannot parse CSV.*line 3"):
        read_table(path, "work_items")


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id,segment\nk1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match="not UTF-8"):
        read_table(path, "customers")


def test_csv_with_bad_values_names_file_column_row_and_line(tmp_path: Path) -> None:
    path = tmp_path / "intervals.csv"
    path.write_text(
        "interval_start,queue,offered,answered,answered_within_threshold,abandoned,aht_s,agents_staffed\n"
        "2024-01-01 08:00,billing,10,9,7,1,300,4\n"
        "2024-01-01 08:30,billing,ten,4,4,0,280,2\n"  # row 1: non-numeric
        "2024-01-01 09:00,billing,5,6,4,0,280,2\n"  # row 2: answered > offered
        "2024-01-01 09:00,billing,5,4,4,0,-1,2\n"  # row 3: duplicate key, negative AHT
        "01/13/2024 25:99,billing,5,4,4,0,280,2\n"  # row 4: unparseable date
    )
    with pytest.raises(DataValidationError) as info:
        read_table(path, "intervals")
    err = info.value
    message = str(err)
    assert str(path) in message and "CSV line = row + 2" in message
    got = sorted(zip(err.failures["column"], err.failures["check"], err.failures["row"], strict=True))
    assert got == sorted(
        [
            ("offered", "coerce to number", 1),
            ("answered", "answered <= offered", 2),
            ("abandoned", "answered + abandoned <= offered", 2),
            ("aht_s", ">= 0", 3),
            ("aht_s", "aht_s > 0 where answered > 0", 3),
            ("interval_start, queue", "unique key", 2),
            ("interval_start, queue", "unique key", 3),
            ("interval_start", "coerce to datetime", 4),
        ]
    )
    assert "row 1 (line 3) ('ten')" in message  # row = 0-based data row, line = the CSV file's line
    assert "row 4 (line 6) ('01/13/2024 25:99')" in message


def test_unsupported_suffix_on_read(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_table(path, "contacts")


# ----------------------------------------------------------------------------------------------------------------
# data directories
# ----------------------------------------------------------------------------------------------------------------
def _write_dir(directory: Path, tables: dict[str, pd.DataFrame], suffix: str = ".parquet") -> None:
    for name, frame in tables.items():
        write_table(frame, directory / f"{name}{suffix}")


def test_load_data_dir_reads_every_table(tmp_path: Path) -> None:
    tables = _small_tables()
    _write_dir(tmp_path, {k: v for k, v in tables.items() if k != "contacts"})
    write_table(tables["contacts"], tmp_path / "contacts.csv")  # formats may be mixed
    loaded = load_data_dir(tmp_path)
    assert sorted(loaded) == sorted(REQUIRED_TABLES)
    pd.testing.assert_frame_equal(loaded["contacts"], validate("contacts", tables["contacts"]))
    assert loaded["intervals"]["offered"].sum() == 14


def test_load_data_dir_prefers_parquet_over_csv(tmp_path: Path) -> None:
    tables = _small_tables()
    _write_dir(tmp_path, tables)
    wrong = tables["intervals"].assign(offered=[100, 40])
    write_table(wrong, tmp_path / "intervals.csv")
    assert load_data_dir(tmp_path, tables=["intervals"])["intervals"]["offered"].tolist() == [10, 4]


def test_load_data_dir_reports_all_missing_and_invalid_tables(tmp_path: Path) -> None:
    tables = _small_tables()
    bad = tables["work_items"].copy()
    bad.loc[1, "left_at"] = pd.Timestamp("2023-01-01")
    tables["work_items"] = bad
    del tables["customers"], tables["employees"]
    _write_dir(tmp_path, tables, suffix=".csv")
    with pytest.raises(DataValidationError) as info:
        load_data_dir(tmp_path)
    message = str(info.value)
    assert "missing 2 table(s): customers (.parquet or .csv), employees (.parquet or .csv)" in message
    assert "work_items.csv" in message and "left_at >= entered_at" in message and "row 1 " in message
    failures = info.value.failures
    assert sorted(failures["table"]) == ["customers", "employees", "work_items"]


def test_load_data_dir_tables_restricts(tmp_path: Path) -> None:
    write_table(_work_items(), tmp_path / "work_items.parquet")
    loaded = load_data_dir(tmp_path, tables=["work_items"])
    assert list(loaded) == ["work_items"]
    with pytest.raises(DataValidationError, match="missing 1 table"):
        load_data_dir(tmp_path, tables=["work_items", "customers"])
    with pytest.raises(DataValidationError, match="Unknown table 'workitems'"):
        load_data_dir(tmp_path, tables=["workitems"])


def test_load_data_dir_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="nope does not exist"):
        load_data_dir(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataValidationError, match="is not a directory"):
        load_data_dir(tmp_path / "f")


# ----------------------------------------------------------------------------------------------------------------
# export sanitising and pseudonymisation
# ----------------------------------------------------------------------------------------------------------------
def test_formula_injection_is_neutralised() -> None:
    df = pd.DataFrame(
        {
            "note": ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "fine", None],
            "who": ["@SUM(A1)", "-2+3", "\tx", "\rY"],
            "mixed": pd.Series(["=1+1", 5, -3.5, "ok"], dtype=object),
            "amount": [-1.0, 2.0, 3.0, -4.0],
            "=cmd": [1, 2, 3, 4],
        }
    )
    out = sanitize_for_export(df)
    assert out["note"].tolist()[:3] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+1+cmd|' /C calc'!A0",
        "fine",
    ]
    assert pd.isna(out["note"].iloc[3])
    assert out["who"].tolist() == ["'@SUM(A1)", "'-2+3", "'\tx", "'\rY"]
    assert out["mixed"].tolist() == ["'=1+1", 5, -3.5, "ok"]  # numbers stay numbers
    assert out["amount"].tolist() == [-1.0, 2.0, 3.0, -4.0]
    assert list(out.columns) == ["note", "who", "mixed", "amount", "'=cmd"]
    assert df["note"].iloc[0].startswith("=")  # input untouched


def test_sanitised_csv_contains_no_live_formula(tmp_path: Path) -> None:
    df = pd.DataFrame({"name": ['=HYPERLINK("http://evil.example")', "Ann"]})
    write_table(sanitize_for_export(df), tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[1] == '"\'=HYPERLINK(""http://evil.example"")"'
    assert not any(line.startswith("=") for line in lines)


def test_categorical_columns_are_sanitised() -> None:
    df = pd.DataFrame({"c": pd.Categorical(["=x", "y", "=x"])})
    assert sanitize_for_export(df)["c"].tolist() == ["'=x", "y", "'=x"]


def test_pseudonymise_ids_matches_keyed_blake2b_and_is_deterministic() -> None:
    key = b"secret-key"
    ids = pd.Series(["k1", "k2", "k1", None, 17], index=[10, 11, 12, 13, 14], name="customer_id")
    out = pseudonymise_ids(ids, key)
    reference = hashlib.blake2b(b"k1", key=key, digest_size=8).hexdigest()
    assert out.iloc[0] == reference and len(reference) == 16
    assert out.iloc[0] == out.iloc[2] != out.iloc[1]
    assert pd.isna(out.iloc[3])
    assert out.iloc[4] == hashlib.blake2b(b"17", key=key, digest_size=8).hexdigest()
    assert out.index.tolist() == [10, 11, 12, 13, 14] and out.name == "customer_id"
    assert pseudonymise_ids(ids, key).equals(out)
    other = pseudonymise_ids(ids, b"another-key")
    assert other.iloc[0] != out.iloc[0]


def test_pseudonymise_ids_is_injective_on_many_ids() -> None:
    ids = pd.Series([f"c{i}" for i in range(100_000)])
    out = pseudonymise_ids(ids, b"k")
    assert out.nunique() == 100_000
    assert out.str.fullmatch(r"[0-9a-f]{16}").all()


@pytest.mark.parametrize("key", [b"", b"x" * 65, "text-key"])
def test_pseudonymise_ids_rejects_bad_keys(key: object) -> None:
    with pytest.raises(InputValueError, match="1 to 64 bytes"):
        pseudonymise_ids(pd.Series(["a"]), key)  # type: ignore[arg-type]


def test_no_temp_files_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # relative paths: the temp file is created next to the target, not in the system temp dir
    monkeypatch.chdir(tmp_path)
    write_table(pd.DataFrame({"a": np.arange(3)}), "rel.csv")
    assert sorted(os.listdir(tmp_path)) == ["rel.csv"]


def test_excel_style_csv_with_bom_and_semicolons(tmp_path: Path) -> None:
    expected = validate("work_items", _work_items())
    text = expected.to_csv(index=False, sep=";")
    path = tmp_path / "work_items.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    pd.testing.assert_frame_equal(read_table(path, "work_items"), expected)


def test_misnamed_column_gets_a_rename_hint(tmp_path: Path) -> None:
    path = tmp_path / "work_items.csv"
    write_table(_work_items().rename(columns={"left_at": "Left At", "journey": "journy"}), path)
    with pytest.raises(DataValidationError) as info:
        read_table(path, "work_items")
    message = str(info.value)
    assert "column 'left_at', check 'column_in_dataframe': column is missing (found 'Left At'" in message
    assert "found 'journy': rename it to 'journey'" in message


def test_a_binary_file_named_csv_says_what_it_is(tmp_path):
    from cx_framework.errors import DataValidationError
    from cx_framework.io import read_table

    xlsx = tmp_path / "customers.csv"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(DataValidationError, match="not a CSV text file.*xlsx"):
        read_table(xlsx, "customers")
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(DataValidationError, match="no CSV header line"):
        read_table(blank, "customers")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match="is empty"):
        read_table(empty, "customers")
