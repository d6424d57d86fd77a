"""The engine-backed Analysis: every headline figure is the same on pandas and DuckDB (1e-9 relative) on the
committed sample, and the large tables never reach pandas on DuckDB; the engine pieces (failure-demand groups and
repeat chains, stage lead-time fits) equal their pandas counterparts table by table.

Spark (local mode) on a small organisation is in ``tests/test_engine_spark.py`` (one SparkSession per module).
"""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

from cx_framework.analysis import ENGINE_TABLES, FIGURES, Analysis
from cx_framework.analysis.core import SAMPLE_DIR
from cx_framework.config import load_config
from cx_framework.engine import connect, validate_data_dir
from cx_framework.errors import StatisticalWarning

REL = 1e-9


@pytest.fixture(scope="module")
def config():
    return load_config("configs")


@pytest.fixture(scope="module")
def computed(config):
    """pandas and DuckDB analyses of the sample with every section computed (memory only)."""
    out = {}
    for kind in ("pandas", "duckdb"):
        a = Analysis.from_sample(config, engine=kind)
        a.compute_all()
        out[kind] = a
    return out


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b))
    return a == b


def test_every_registered_figure_equal_on_pandas_and_duckdb(computed):
    pandas_a, duck = computed["pandas"], computed["duckdb"]
    assert pandas_a.unavailable() == {} and duck.unavailable() == {}
    p = {f.id: f for f in pandas_a.figures()}
    d = {f.id: f for f in duck.figures()}
    assert set(p) == set(d)
    # every registered figure spec is represented (ids of parametrised specs start with the spec's id)
    from cx_framework.analysis.core import headline_sections

    sections = set(headline_sections())
    specs = {
        spec.id.split("{")[0].rstrip(".") for spec in FIGURES.values() if spec.id.split(".")[0] in sections
    }
    assert all(any(fid.startswith(s) for fid in p) for s in specs), specs
    differing = {fid: (p[fid].value, d[fid].value) for fid in p if not same(p[fid].value, d[fid].value)}
    assert differing == {}
    assert all(p[fid].label == d[fid].label and p[fid].period == d[fid].period for fid in p)
    assert len(p) >= 50


def test_duckdb_analysis_never_loads_the_large_tables(computed):
    duck = computed["duckdb"]
    assert duck.engine_kind == "duckdb" and duck.uses_engine
    loaded = set(duck.tables._frames)  # LazyTables: what was read into pandas
    assert loaded.isdisjoint(ENGINE_TABLES), loaded
    assert duck.result("retention").panel is None
    fd = duck.result("failure_demand")
    assert fd.classification is None and fd.groups is not None
    assert computed["pandas"].result("retention").panel is not None


def test_engine_results_match_pandas_tables(computed):
    p, d = computed["pandas"].result("failure_demand"), computed["duckdb"].result("failure_demand")
    for name in ("summary", "by_department", "charge_back", "charge_back_by_period", "unclassified_reasons"):
        pd.testing.assert_frame_equal(getattr(p, name), getattr(d, name), rtol=1e-12, check_dtype=False)
    pd.testing.assert_frame_equal(p.top_chains, d.top_chains, check_dtype=False)
    pd.testing.assert_frame_equal(
        p.groups.drop(columns="cost"), d.groups.drop(columns="cost"), check_dtype=False
    )
    assert p.months_observed == d.months_observed
    ps, ds = computed["pandas"].result("sla_chain"), computed["duckdb"].result("sla_chain")
    pd.testing.assert_frame_equal(ps["fitted"], ds["fitted"], rtol=1e-9, check_dtype=False)
    pr, dr = computed["pandas"].result("retention").fit, computed["duckdb"].result("retention").fit
    pd.testing.assert_series_equal(pr.params, dr.params, rtol=1e-9)
    pd.testing.assert_frame_equal(pr.conf_int(), dr.conf_int(), rtol=1e-9)


def test_failure_demand_groups_by_hand(config):
    """Repeat chains in the engine on hand-made contacts: ties keep file order, the window is measured from the
    previous link, and a repeat is attributed to its chain root's department."""
    from cx_framework.engine.failure_demand import failure_demand_groups
    from cx_framework.failure_demand import attribute_failure_demand

    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2024-03-01 09:00")
    rows = [
        # id, customer, time, reason, resolved
        ("K1", "C1", t0, "bill_query", False),  # root (billing failure)
        ("K2", "C1", t0 + 3 * day, "new_order", False),  # repeat of K1 (3 days)
        ("K3", "C1", t0 + 8 * day, "new_order", True),  # repeat of K2 (5 days after K2): chain -> K1 billing
        ("K4", "C1", t0 + 9 * day, "bill_query", True),  # previous resolved -> new root
        ("K5", "C2", t0, "new_order", False),  # root
        ("K6", "C2", t0, "bill_query", True),  # same timestamp, later in file -> repeat of K5 (sales)
        ("K7", "C2", t0 + 30 * day, "bill_query", False),  # outside window -> root
    ]
    frame = pd.DataFrame(
        {
            "contact_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "channel": "phone",
            "queue": "billing",
            "reason": [r[3] for r in rows],
            "wait_s": 10.0,
            "handle_s": 300.0,
            "abandoned": False,
            "resolved_first_contact": [r[4] for r in rows],
            "agent_id": "A1",
        }
    )
    fd = config.failure_demand
    reasons = {r.id: (r.is_failure, r.originating_department) for r in fd.reasons}
    with connect("duckdb", threads=1) as engine:
        from cx_framework.engine import validate_table

        table = validate_table(engine, "contacts", frame)
        got = failure_demand_groups(engine, table, reasons, repeat_window_days=7.0)
    repeats = got.groups[got.groups["demand_type"] == "repeat"]
    assert int(repeats["contacts"].sum()) == 3  # K2, K3, K6
    by_root = repeats.groupby("root_reason")["contacts"].sum().to_dict()
    assert by_root == {"bill_query": 2, "new_order": 1}
    billing = reasons["bill_query"][1]
    sales = reasons["new_order"][1]
    dept = repeats.groupby("originating_department")["contacts"].sum().to_dict()
    assert dept == ({billing: 2, sales: 1} if billing != sales else {billing: 3})
    assert got.top_chains.iloc[0].tolist()[:2] == ["K1", "C1"] and int(got.top_chains.iloc[0]["repeats"]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ref = attribute_failure_demand(frame, config, economics=config.economics)
    assert ref.groups["contacts"].sum() == got.groups["contacts"].sum() == len(rows)
    ref_rep = ref.groups[ref.groups["demand_type"] == "repeat"].groupby("root_reason")["contacts"].sum()
    assert ref_rep.to_dict() == by_root


def test_stage_fits_in_engine_equal_pandas():
    from cx_framework.conflicts.chain import fit_stage_distributions, fit_stage_distributions_engine
    from cx_framework.io import read_table

    items = read_table(SAMPLE_DIR / "work_items.parquet", "work_items")
    with connect("duckdb", threads=1) as engine:
        checked = validate_data_dir(engine, SAMPLE_DIR, ("work_items",))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            got = fit_stage_distributions_engine(engine, checked["work_items"])
            ref = fit_stage_distributions(items)
    pd.testing.assert_frame_equal(ref, got, rtol=1e-9, check_dtype=False)


def test_engine_option_and_cache_key(config, tmp_path):
    from cx_framework.errors import InputValueError

    with pytest.raises(InputValueError, match="engine must be one of"):
        Analysis.from_sample(config, engine="oracle")
    a = Analysis.from_sample(config)
    assert a.engine_kind == config.engine.kind == "duckdb"  # data directories default to engine.yaml's kind
    assert a.key != a.with_assumptions(seed=1).key
    assert Analysis.from_sample(config, engine="pandas").key != a.key
    assert a.with_assumptions(seed=1).engine_kind == "duckdb"


def test_missing_large_table_names_it_on_the_engine(config, tmp_path):
    import shutil

    for f in SAMPLE_DIR.glob("*.parquet"):
        if not f.name.startswith("work_items"):
            shutil.copy(f, tmp_path / f.name)
    a = Analysis.from_data_dir(tmp_path, config, engine="duckdb")
    assert not a.has("work_items")
    assert "work_items" in a.table_problems
    assert not a.available("sla_chain")  # lead times come from work_items (assumptions sla_lead_times: data)
    assert "work_items" in (a.why_unavailable("sla_chain") or "")
    # partial data: the actions still run (the SLA-chain candidates are named as unavailable in the plan)
    assert a.unavailable("actions") == {}


def test_concurrent_callers_share_one_duckdb_connection_safely(config, computed):
    """Two threads reading one DuckDB Analysis at once (the app: a rerun starts while the stopped run's query
    still runs) get the same results as one caller; DuckDB refuses a second concurrent query on a connection
    ("connection is busy with another call"), so the Analysis lets one caller at a time at the engine."""
    import threading

    a = Analysis.from_sample(config, engine="duckdb")
    names = ("failure_demand", "sla_chain", "staffing", "retention", "scorecard", "queue_model_fit")
    start = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def read(name: str) -> None:
        start.wait()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a.figures(name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ref = computed["duckdb"]
    for name in names:
        got, want = a.figures(name), ref.figures(name)
        assert [f.id for f in got] == [f.id for f in want], name
        for f, g in zip(got, want, strict=True):
            assert same(f.value, g.value), (f.id, f.value, g.value)


def test_engine_clawbacks_equal_pandas_from_the_reversible_sales_only(computed):
    """On DuckDB only the sales a clawback can reverse (customer churned around the sale, within the longest
    window) reach pandas; every scheme's payouts and clawback statistics are those of the pandas path."""
    from cx_framework.analysis.sections import _clawed, _engine_sales, _longest_window

    p, d = computed["pandas"].result("payouts"), computed["duckdb"].result("payouts")
    assert set(p.payouts) == set(d.payouts)
    reversed_any = False
    for sid, frame in p.payouts.items():
        assert frame.attrs.get("clawback") == d.payouts[sid].attrs.get("clawback")
        pd.testing.assert_frame_equal(frame, d.payouts[sid], rtol=1e-9, check_dtype=False)
        claw = frame.attrs.get("clawback")
        reversed_any |= isinstance(claw, dict) and claw["reversed_sales"] > 0
    assert reversed_any  # the sample's schemes do reverse sales
    duck = computed["duckdb"]
    window = _longest_window(_clawed(duck.config.schemes.values()))
    assert window > 0
    few, every = _engine_sales(duck, window), _engine_sales(duck)
    assert 0 < len(few) < len(every)
    assert set(few["sale_id"]) <= set(every["sale_id"])
