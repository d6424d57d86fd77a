"""The fast .xlsx writer: values round-trip through openpyxl, formats, frozen header, autofilter, widths."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd

from cx_framework._xlsx import Sheet, column_letter, workbook_bytes


def test_column_letters():
    assert [column_letter(i) for i in (1, 26, 27, 52, 53, 702, 703)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_values_formats_and_layout_round_trip():
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-01-01", "2025-02-01", None]),
            "name": ["a & <b>", 'q"uote', None],
            "count": [1, 2, 3],
            "payout": [1234.5, -0.01, np.nan],
            "attainment": [0.6166, 1.2, 0.0],
            "passed": pd.array([True, None, False], dtype="boolean"),
            "capped": [False, True, False],
            "tiny": [0.1 + 0.2, 1e-12, 3.0],
        }
    )
    data = workbook_bytes(
        [
            Sheet(
                "scheme one",
                frame,
                {"period": "yyyy-mm-dd", "payout": '"£"#,##0.00', "attainment": "0.0%"},
                {"name": 22.5},
            ),
            Sheet("empty", frame.iloc[:0]),
        ]
    )
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["scheme one", "empty"]
    ws = wb["scheme one"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H4"
    assert [c.value for c in ws[1]] == list(frame.columns) and ws["A1"].font.b
    assert ws.column_dimensions["B"].width == 22.5
    row2 = [c.value for c in ws[2]]
    assert row2[:5] == [pd.Timestamp("2025-01-01").to_pydatetime(), "a & <b>", 1, 1234.5, 0.6166]
    assert row2[5] is True and row2[6] is False and row2[7] == 0.1 + 0.2  # exact float round trip
    assert ws["A2"].number_format == "yyyy-mm-dd" and ws["D2"].number_format == '"£"#,##0.00'
    assert ws["E3"].number_format == "0.0%"
    assert [c.value for c in ws[4]][:2] == [None, None]  # missing date and text stay empty
    assert ws["D4"].value is None and ws["F3"].value is None  # NaN and pd.NA are empty cells
    assert ws["B3"].value == 'q"uote' and ws["H3"].value == 1e-12
    back = pd.read_excel(io.BytesIO(data), sheet_name="scheme one")
    assert back["count"].tolist() == [1, 2, 3]
    assert wb["empty"].max_row == 1
