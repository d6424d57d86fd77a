"""What the speed work relies on (issue 12; timings themselves are in benchmarks/bench_truth.py, never asserted):
lazy re-exports that match their modules, light imports for the first screen, the Analysis cache keeping what it
resolved and the validated tables, and faster writers that produce the same output."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.analysis import Analysis
from cx_framework.analysis.core import LazyTables

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.mark.parametrize("package", ["cx_framework.plots", "cx_framework.conflicts"])
def test_lazy_exports_match_the_modules(package):
    pkg = importlib.import_module(package)
    expected = {}
    for module in sorted(set(pkg._EXPORTS.values())):
        mod = importlib.import_module(f"{package}.{module}")
        for name in mod.__all__:
            expected[name] = module
    assert expected == pkg._EXPORTS
    assert sorted(pkg.__all__) == sorted(expected)
    for name, module in expected.items():
        assert getattr(pkg, name) is getattr(importlib.import_module(f"{package}.{module}"), name)
    with pytest.raises(AttributeError):
        _ = pkg.no_such_chart


def test_first_screen_imports_stay_light():
    """The status colours and the conflict explanations must not pull in plotly or the SLA-chain scipy stack."""
    code = (
        "import sys; import cx_framework.plots._style, cx_framework.conflicts.explain, cx_framework.scorecard; "
        "print(sorted(m for m in ('plotly', 'scipy.stats', 'scipy.signal') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert json.loads(out.strip().replace("'", '"')) == []


def test_cached_analysis_keeps_what_it_resolved(tmp_path, config):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("intervals", "department_metrics"):
        shutil.copy(SAMPLE / f"{name}.parquet", data / f"{name}.parquet")
    cache = tmp_path / "cache"
    first = Analysis.from_data_dir(data, config, cache_dir=cache)
    first.section("staffing")
    manifest = json.loads(next(cache.glob("*/manifest.json")).read_text())
    assert manifest["resolved"]["as_of"] == {"timestamp": "2025-11-01T00:00:00"}

    second = Analysis.from_data_dir(data, config, cache_dir=cache)
    second._loader = None  # any read of the data would fail
    from cx_framework.analysis.sections import as_of

    assert as_of(second) == pd.Timestamp("2025-11-01")
    assert second.assumptions_dict() == first.assumptions_dict()


def test_validated_tables_are_kept_and_read_back(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE / "intervals.parquet", data / "intervals.parquet")
    cache = tmp_path / "cache"
    first = LazyTables(data, ["intervals"], cache_dir=cache)["intervals"]
    kept = list((cache / "tables").glob("intervals-*.pkl"))
    assert len(kept) == 1

    import cx_framework.io as io

    def refuse(*_args, **_kwargs):
        raise AssertionError("validated again")

    monkeypatch.setattr(io, "read_table", refuse)
    again = LazyTables(data, ["intervals"], cache_dir=cache)["intervals"]
    pd.testing.assert_frame_equal(again, first)
    assert list(again.dtypes) == list(first.dtypes)
    monkeypatch.undo()

    # a changed file is validated again (new identity), never served from the old pickle
    frame = pd.read_parquet(data / "intervals.parquet")
    frame.loc[0, "offered"] = -1
    frame.to_parquet(data / "intervals.parquet")
    bad = LazyTables(data, ["intervals"], cache_dir=cache)
    assert "intervals" not in bad and "offered" in bad.problems["intervals"]


def test_xlsx_numbers_are_shortest_round_trip(tmp_path):
    from openpyxl import load_workbook

    from cx_framework._xlsx import Sheet, workbook_bytes

    frame = pd.DataFrame(
        {"share": [0.1, 0.123456789012345, np.nan], "count": [1, 2, 3], "money": [1.005, 2.5, 1e16]}
    )
    path = tmp_path / "t.xlsx"
    path.write_bytes(workbook_bytes([Sheet("t", frame, {"share": "0.0%"})]))
    import zipfile

    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>0.1</v>" in xml and "0.10000000000000001" not in xml
    assert "<v>1</v>" in xml and "<v>1e+16</v>" in xml
    ws = load_workbook(path)["t"]
    assert ws["A2"].value == 0.1 and ws["A3"].value == 0.123456789012345 and ws["A4"].value is None
    assert ws["A2"].number_format == "0.0%"
    assert [ws["B2"].value, ws["C2"].value, ws["C4"].value] == [1, 1.005, 1e16]


def test_fast_yaml_reads_the_same_and_keeps_the_pure_parser_errors(tmp_path):
    from cx_framework.config import _yaml
    from cx_framework.errors import ConfigError

    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        data, node = _yaml.read_yaml(path)
        loader = _yaml._Loader(path.read_text(encoding="utf-8"))
        assert data == loader.get_single_data()
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: c: d\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping values are not allowed here") as info:
        _yaml.read_yaml(bad)
    assert "line 2" in str(info.value)


def test_style_template_is_the_validated_one():
    import plotly.graph_objects as go

    from cx_framework.plots._style import apply_style

    ours = apply_style(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), title="t")
    reference = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    reference.update_layout(template="plotly_white")
    assert (
        json.loads(ours.to_json())["layout"]["template"]
        == json.loads(reference.to_json())["layout"]["template"]
    )
    ours.layout.template.layout.paper_bgcolor = "red"  # a figure's template is its own copy
    assert go.Figure().update_layout(template="plotly_white").layout.template.layout.paper_bgcolor != "red"


def _validated_style(fig, *, title=None, height=420):
    """apply_style as plotly's validated update_layout / update_xaxes / update_yaxes would write it."""
    from cx_framework.plots._style import PALETTE

    fig.update_layout(template="plotly_white")
    fig.update_layout(
        colorway=PALETTE,
        height=height,
        margin={"l": 60, "r": 40, "t": 100 if title else 50, "b": 60},
        font={"size": 13},
        legend={"orientation": "h", "x": 0.0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        modebar={"orientation": "v"},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if title:
        fig.update_layout(title={"text": title, "x": 0.0, "y": 0.98, "yanchor": "top", "xref": "container"})
    return fig


def test_style_layout_equals_the_validated_update():
    """apply_style merges its layout without plotly's per-property validation: the same figure as the validated
    updates, whether the chart set layout properties before (kept and merged) or has subplots (every axis)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from cx_framework.plots._style import apply_style

    def figures():
        yield go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
        f = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
        f.update_layout(legend_title_text="Queue", margin={"l": 10}, font={"family": "Arial"}, title="old")
        f.update_xaxes(title="x", tickformat=".0%")
        yield f
        yield make_subplots(rows=2, cols=2)
        f = make_subplots(rows=1, cols=2, specs=[[{"secondary_y": True}, {}]])
        f.add_trace(go.Scatter(x=[1], y=[2]), row=1, col=1, secondary_y=True)
        yield f

    for title in (None, "A title"):
        for ours, reference in zip(figures(), figures(), strict=True):
            apply_style(ours, title=title, height=300)
            _validated_style(reference, title=title, height=300)
            assert json.loads(ours.to_json()) == json.loads(reference.to_json())
            ours.update_layout(legend_x=0.5)  # later validated updates still merge into the styled layout
            assert ours.layout.legend.x == 0.5 and ours.layout.legend.orientation == "h"


def test_retention_by_period_section_is_the_direct_fit_and_follows_the_data(tmp_path, sample_org, config):
    """The Retention page's monthly view comes from the Analysis (cached on disk): the same numbers as the direct
    call, read back without statsmodels, and recomputed when the data change (new cache key)."""
    from cx_framework.retention import sl_retention_by_period

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "sample", data)
    cache = tmp_path / "cache"
    first = Analysis.from_data_dir(data, config, cache_dir=cache, engine="pandas").result(
        "retention_by_period"
    )
    from cx_framework.errors import StatisticalWarning

    with pytest.warns(StatisticalWarning, match="months"):  # the caveat the section keeps as a note
        direct = sl_retention_by_period(sample_org.intervals, sample_org.customers)
    pd.testing.assert_series_equal(first.params, direct.params)
    pd.testing.assert_series_equal(first.bse, direct.bse)
    code = (
        "import sys; from cx_framework.analysis import Analysis; from cx_framework.config import load_config; "
        f"a = Analysis.from_data_dir({str(data)!r}, load_config({str(ROOT / 'configs')!r}), "
        f"cache_dir={str(cache)!r}, engine='pandas'); r = a.result('retention_by_period'); "
        "print(a.from_cache, 'statsmodels' in sys.modules, repr(float(r.params.iloc[1])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "False", repr(float(direct.params.iloc[1]))]
    customers = pd.read_parquet(data / "customers.parquet")
    customers.loc[customers.index[:300], "churn_date"] = pd.NaT
    customers.to_parquet(data / "customers.parquet")
    changed = Analysis.from_data_dir(data, config, cache_dir=cache, engine="pandas")
    assert not changed.from_cache
    assert not np.allclose(changed.result("retention_by_period").params, direct.params)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"y": 0.8, "line": {"color": "#D55E00", "dash": "dash"}, "annotation_text": "target 80%"},
        *[
            {"y": 0.8, "line": {"color": "#000000"}, "annotation_text": "t", "annotation_position": p}
            for p in (
                "bottom right",
                "top left",
                "top",
                "bottom",
                "left",
                "right",
                "top right",
                "bottom left",
            )
        ],
        *[
            {
                "x": 12,
                "line": {"color": "#009E73", "dash": "dot"},
                "annotation_text": "12",
                "annotation_position": p,
            }
            for p in ("top left", "bottom right", "top", "bottom", "left", "right")
        ],
        {"y": 0.5},
        {"x": 3, "line": {"color": "red"}},
        {"x": "2026-03-02", "annotation_text": "a date"},
    ],
)
def test_reference_line_is_plotlys_axis_spanning_line(kwargs):
    """reference_line writes the same figure JSON as plotly's add_hline / add_vline (also after other lines)."""
    import plotly.graph_objects as go

    from cx_framework.plots._style import reference_line

    def base() -> go.Figure:
        fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.7, 0.9]))
        return fig.add_hline(y=0.3, annotation_text="first")

    reference = base()
    try:
        (reference.add_vline if "x" in kwargs else reference.add_hline)(**kwargs)
    except TypeError:
        # old plotly (5.18, our lowest) cannot label a line at a date string (shapeannotation._mean sums the x
        # values); reference_line places its label with the same plotly helper, so it fails the same way
        assert isinstance(kwargs.get("x"), str)
        with pytest.raises(TypeError):
            reference_line(base(), **kwargs)
        return
    ours = reference_line(base(), **kwargs)
    assert ours.to_json() == reference.to_json()


def test_reference_line_with_subplots_takes_plotlys_path():
    from plotly.subplots import make_subplots

    from cx_framework.plots._style import reference_line

    def base():
        fig = make_subplots(rows=1, cols=2)
        fig.add_scatter(x=[1, 2], y=[1, 2], row=1, col=1)
        fig.add_scatter(x=[1, 2], y=[1, 2], row=1, col=2)
        return fig

    ours = reference_line(base(), y=1.5, annotation_text="t", annotation_position="top left")
    assert (
        ours.to_json()
        == base().add_hline(y=1.5, annotation_text="t", annotation_position="top left").to_json()
    )
    assert len(ours.layout.shapes) == 2  # one line per subplot, as plotly draws it
    with pytest.raises(ValueError, match="exactly one of x"):
        reference_line(base(), x=1, y=1)
