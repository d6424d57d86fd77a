"""Data source and cached library results shared by every page (UI only: all numbers come from cx_framework).

Caching: every heavy result is cached with ``st.cache_resource`` on hash-friendly keys — the data *source* (a
tuple of strings: data directory, fallback directory, file stamp) and, for edited schemes, the scheme's YAML text.
Cached objects are shared between sessions and must be treated as read-only by the pages.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from cx_framework.app_support import data_stamp, load_tables
from cx_framework.errors import CxError, DataValidationError  # noqa: F401 - CxError re-exported for pages

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = os.environ.get("CX_CONFIG_DIR", str(REPO / "configs"))


def config_dir() -> str:
    """Configuration directory: ``cx app --configs`` (env ``CX_CONFIG_DIR``, read on every call) or configs/."""
    return os.environ.get("CX_CONFIG_DIR", str(REPO / "configs"))


#: session keys
UPLOAD_DIR = "cx_upload_dir"
USE_UPLOAD = "cx_use_upload"

Source = tuple[str, str, str]  # (directory or "", fallback directory or "", stamp)


# ------------------------------------------------------------------------------------------------ source
def base_dir() -> str:
    """Data directory given by ``cx app --data-dir`` (env ``CX_DATA_DIR``), or "" for the bundled sample."""
    return os.environ.get("CX_DATA_DIR", "")


def upload_dir() -> str:
    """This session's upload directory (created lazily inside the system temp dir)."""
    if UPLOAD_DIR not in st.session_state:
        st.session_state[UPLOAD_DIR] = tempfile.mkdtemp(prefix="cx_upload_")
    return str(st.session_state[UPLOAD_DIR])


_STAMPS: dict[str, tuple[float, str]] = {}


def config_stamp(directory: str | None = None) -> str:
    """Changes whenever a YAML file of the configuration changes (so edited configs are picked up); re-checked
    at most once a second (pages look the config up many times per rerun)."""
    import time

    directory = directory or config_dir()
    now = time.monotonic()
    cached = _STAMPS.get(directory)
    if cached is not None and now - cached[0] < 1.0:
        return cached[1]
    stamp = _config_stamp(directory)
    _STAMPS[directory] = (now, stamp)
    return stamp


def _config_stamp(config_dir: str) -> str:
    root = Path(config_dir)
    files = sorted([*root.glob("*.yaml"), *root.glob("incentives/*.yaml")])
    stats = [(p.name, p.stat()) for p in files]
    return f"{root.resolve()}|" + "|".join(
        f"{name}:{info.st_mtime_ns}:{info.st_size}" for name, info in stats
    )


def source() -> Source:
    """The session's data source: uploaded tables (over the base data) when switched on, else the base data.
    The stamp covers the data files and the configuration, so every cached result follows edits of either."""
    base = base_dir()
    if st.session_state.get(USE_UPLOAD) and st.session_state.get(UPLOAD_DIR):
        up = str(st.session_state[UPLOAD_DIR])
        return (up, base, data_stamp(up) + "||" + data_stamp(base or None) + "||" + config_stamp())
    return _plain_source(base)


def _plain_source(directory: str) -> Source:
    """The source reading ``directory`` alone ("" = the bundled sample); also the key of an upload's base data,
    so the base tables are cached once whether or not uploads are switched on."""
    return (directory, "", data_stamp(directory or None) + "||" + config_stamp())


def _is_upload(src: Source) -> bool:
    """Whether a (non-sample) source is the session's uploads over a base data set."""
    directory, fallback, _ = src
    return bool(fallback) or directory == st.session_state.get(UPLOAD_DIR)


def describe(src: Source) -> str:
    directory, fallback, _ = src
    if not directory:
        return "bundled sample organisation (12,000 customers, 24 months)"
    if _is_upload(src):
        return "uploaded tables (others from " + (fallback or "the bundled sample") + ")"
    return f"data directory {directory}"


# ------------------------------------------------------------------------------------------------ caveats
#: statistical caveats (StatisticalWarning messages) raised while computing a cached result, by (name, *args);
#: filled when the result is computed, shown by the page next to the result (cached results warn only once)
_NOTES: dict[tuple[Any, ...], list[str]] = {}


def _noted(key: tuple[Any, ...], fn: Any) -> Any:
    import warnings

    from cx_framework.errors import StatisticalWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        result = fn()
    _NOTES[key] = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, StatisticalWarning))
    )
    return result


def notes(*key: Any) -> list[str]:
    """Statistical caveats recorded for a cached result (see :func:`_noted`)."""
    return _NOTES.get(tuple(key), [])


# ------------------------------------------------------------------------------------------------ loaders
def config(directory: str | None = None) -> Any:
    """The configuration (re-read when a YAML file changes)."""
    directory = directory or config_dir()
    key = (directory, config_stamp(directory))
    # pages ask for the config hundreds of times per rerun (every metric name): a dict look-up, not a
    # st.cache_resource call (which hashes its arguments each time)
    cfg = _CONFIGS.get(key)
    if cfg is None:
        cfg = _config(*key)
        if len(_CONFIGS) >= 4:
            _CONFIGS.clear()
        _CONFIGS[key] = cfg
    return cfg


_CONFIGS: dict[tuple[str, str], Any] = {}


@st.cache_resource(show_spinner="Loading configuration…", max_entries=4)
def _config(config_dir: str, stamp: str) -> Any:
    from cx_framework.config import load_config

    return load_config(config_dir)


@st.cache_resource(show_spinner="Loading and validating data…", max_entries=4)
def _tables(src: Source) -> dict[str, pd.DataFrame]:
    directory, fallback, _ = src
    if _is_upload(src):
        return load_tables(directory, _tables(_plain_source(fallback)))[0]
    # the Analysis' own tables: each read and validated once, on first use, for every page and the Analysis; a
    # missing or invalid table is left out (and named by the pages that need it), the others load (partial data)
    return analysis(src).tables  # type: ignore[no-any-return]


def tables(src: Source | None = None) -> dict[str, pd.DataFrame]:
    """Validated tables of the source as the signed-in viewer may read them (``access.restrict_tables``: no
    salaries for leadership/analysts, own teams for managers, pseudonymised customers for analysts); on invalid
    data the page shows the failure table and stops."""
    src = src or source()
    try:
        return _viewer_tables(src, _viewer_key())
    except CxError as exc:
        show_error(exc, "The data could not be loaded")
        st.stop()
        raise  # pragma: no cover - st.stop raises


def need_section(src: Source, name: str) -> None:
    """Stop the page with one clear message when the Analysis section it is built on cannot run on this data
    (a table it needs is missing or invalid: partial data); the pages that need other tables still work."""
    reason = analysis(src).why_unavailable(name)
    if reason:
        st.error(
            f"**This page cannot be computed from the current data.** {reason}. The other pages use only the "
            "tables they need; add the missing table on the Data page or in the data folder.",
            icon=":material/table_chart:",
        )
        st.stop()


def table(src: Source, name: str) -> pd.DataFrame:
    """One validated table of the source; a missing or invalid one raises a CxError naming it (the page shows
    it as a message; pages that do not need the table still run)."""
    from cx_framework.errors import DataValidationError

    a = analysis(src)
    if name in a.tables:
        return a.tables[name]
    reason = a.table_problems.get(name, "missing")
    raise DataValidationError(f"This page needs table {name}: {reason}", table=name)


def _viewer_key() -> tuple[str, tuple[str, ...]] | None:
    import _access

    v = _access.viewer() if _access.policy() is not None else None
    return None if v is None else (v.role, v.teams)


@st.cache_resource(show_spinner=False, max_entries=8)
def _viewer_tables(src: Source, viewer_key: tuple[str, tuple[str, ...]] | None) -> dict[str, pd.DataFrame]:
    from cx_framework.access import Viewer, restrict_tables

    if viewer_key is None:
        return _tables(src)
    return restrict_tables(_tables(src), Viewer(user="", role=viewer_key[0], teams=viewer_key[1]))


def show_error(exc: CxError, headline: str) -> None:
    """A readable error box plus the failure table (never a traceback)."""
    from cx_framework.app_support import failure_table

    # the library's closing "Tip: ... err.failures ..." addresses programmers; the table below replaces it
    message = str(exc).split(" Tip:")[0].split("\nTip:")[0]
    if isinstance(exc, DataValidationError):  # the library counts data rows from 0; people count from 1
        import re

        message = re.sub(r"\brow (\d+) \(", lambda m: f"data row {int(m.group(1)) + 1} (", message)
    st.error(f"**{headline}.** {message}")
    table = failure_table(exc)
    if len(table) and list(table.columns) != ["problem"]:
        if "row" in table.columns:  # people count rows from 1: row 1 = the first data row
            table = table.assign(row=table["row"] + 1).rename(
                columns={"row": "data row", "csv_line": "CSV line"}
            )
        st.caption(
            "Every problem found (data row 1 = the first row below the header; in a CSV file that is line 2):"
        )
        st.dataframe(table, hide_index=True, width="stretch")


# ------------------------------------------------------------------------------------------------ memo
def memo(key: tuple[Any, ...], build: Any) -> Any:
    """``build()`` computed once per ``key`` and kept for every later rerun and session (``st.cache_resource``).

    For what a page derives from cached results on each rerun — a drill-down, a chart — so a widget change
    recomputes only what depends on it. ``key`` must name everything the result depends on: a name for what
    is built, the data source (which covers data and config) and every widget value used. The result is shared
    between sessions: treat it as read-only (build a chart whole inside ``build``, never add to it after).
    """
    return _memo(key, build)


@st.cache_resource(max_entries=512, show_spinner=False)
def _memo(key: tuple[Any, ...], _build: Any) -> Any:
    return _build()


# ------------------------------------------------------------------------------------------------ the Analysis
def analysis(src: Source | None = None) -> Any:
    """The :class:`cx_framework.analysis.Analysis` of the source under the configuration: every page reads its
    figures and engine results (one version of the truth; opened from the disk cache when it is there)."""
    return _analysis(src or source())


@st.cache_resource(show_spinner=False, max_entries=4)
def _analysis(src: Source) -> Any:
    from cx_framework.analysis import Analysis, LazyTables, default_cache_dir

    directory, fallback, _ = src
    cfg = config()
    cache = default_cache_dir()
    if not directory:
        return Analysis.from_sample(cfg, cache_dir=cache)
    if _is_upload(src):
        from cx_framework.analysis.core import PAY_TABLES, SAMPLE_DIR, personal_cache_allowed
        from cx_framework.app_support import data_stamp

        uploaded = LazyTables(directory)
        # under access control the base salaries are not copied into the disk cache (analysis/core.py)
        private = () if personal_cache_allowed(cfg) else PAY_TABLES
        base = LazyTables(fallback or SAMPLE_DIR, cache_dir=cache, private=private)
        tables = {name: uploaded[name] for name in uploaded}
        tables.update({name: base[name] for name in base if name not in tables})
        problems = {k: v for k, v in uploaded.problems.items() if k not in tables or k in uploaded.files}
        problems.update({k: v for k, v in base.problems.items() if k not in tables})
        stamp = data_stamp(directory) + "||" + data_stamp(fallback or SAMPLE_DIR)
        return Analysis(tables, cfg, data_stamp=stamp, table_problems=problems, cache_dir=cache)
    return Analysis.from_data_dir(directory, cfg, cache_dir=cache)


def result(src: Source, name: str) -> Any:
    """The engine result of Analysis section ``name``; when the section cannot run (a table it needs is missing
    or invalid) the page shows why and stops — other pages, which do not need that table, still run."""
    import _access

    from cx_framework.access import PERSONAL_SECTIONS, AccessError

    try:
        policy = _access.policy()
        if policy is not None:  # individual pay: the signed-in viewer's role decides (refusal logged)
            who = _access.viewer()
            if who is None and name in PERSONAL_SECTIONS:
                raise AccessError("sign in first: individual pay is shown to signed-in HR and managers only")
            policy.authorize(who, name)
        a = analysis(src)
        return a.result(name) if a.computed(name) else _computing(a, name)
    except AccessError as exc:
        st.error(f"**Access denied** — {exc}", icon=":material/lock:")
        st.stop()
        raise  # pragma: no cover - st.stop raises
    except CxError as exc:
        show_error(exc, "This part cannot be computed from the current data")
        st.stop()
        raise  # pragma: no cover - st.stop raises


def _computing(a: Any, name: str) -> Any:
    """Compute section ``name`` under a status box that says what is being computed (first visit on new data or
    config; later visits read the Analysis' cache and show nothing)."""
    import time

    label = a.section_label(name)
    box = st.empty()
    start = time.perf_counter()
    try:
        with box.status(f"Computing {label.lower()} from the data…", expanded=False) as status:
            status.write(
                f"{label}: reading the tables it needs and running the analysis once; it is cached after."
            )
            value = a.result(name)
            status.update(label=f"{label} computed in {time.perf_counter() - start:.1f} s", state="complete")
    finally:
        box.empty()
    return value


def figure(figure_id: str, src: Source | None = None) -> Any:
    """A registered headline figure of the Analysis (label, formatted value, definition for the tooltip)."""
    return analysis(src).figure(figure_id)


def show_figure(column: Any, figure_id: str, src: Source | None = None, **kwargs: Any) -> Any:
    """``column.metric`` of a registered figure: the registry's label and format, its definition as help."""
    from cx_framework.analysis import figure_spec

    try:
        f = figure(figure_id, src)
    except CxError as exc:  # its section cannot run on this data: say why instead of a number
        column.metric(figure_spec(figure_id).label, "not available", help=str(exc))
        return None
    period = f" Period: {f.period}." if f.period else ""
    column.metric(f.label, f.formatted(), help=f"{f.definition}{period}", **kwargs)
    return f


def assumptions_panel(src: Source | None = None) -> None:
    """The assumptions every page uses (sidebar): from configs/assumptions.yaml and economics.yaml."""
    a = analysis(src)
    with st.expander("Assumptions used", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in a.assumptions_lines()))
        st.caption(f"Set in configs/assumptions.yaml and economics.yaml. Figures {a.age_text()}.")
        for reason in a.unavailable().values():
            st.caption(f"Not available: {reason}")


# ------------------------------------------------------------------------------------------------ results
def scorecard(src: Source) -> Any:
    """The scorecard of the Analysis (as_of and every figure shared with the CLI and the report)."""
    return result(src, "scorecard")


def scorecard_frames(src: Source) -> Any:
    """The scorecard's tidy frames (``metric_scores``, ``department_scores``, ``shared_scores``, ``alignment``,
    ``exceptions``) and ``periods``, as the Analysis stores them: served from the disk cache's Parquet files,
    without unpickling the engine result (its every-level values and control charts, and scipy behind them)
    that only the drill-down needs."""
    from types import SimpleNamespace

    try:
        frames = analysis(src).frames("scorecard")
    except CxError as exc:
        show_error(exc, "This part cannot be computed from the current data")
        st.stop()
        raise  # pragma: no cover - st.stop raises
    shared = frames["shared_scores"]
    periods = tuple(sorted(pd.Timestamp(p) for p in shared["period"].unique()))
    return SimpleNamespace(**frames, periods=periods)


def as_of(src: Source | None = None) -> pd.Timestamp:
    """The reporting month of the Analysis (assumptions.yaml ``as_of``: by default the latest complete month)."""
    return pd.Timestamp(analysis(src).assumptions_dict()["as_of"] + "-01")


@st.cache_resource(max_entries=8)
def _payout_grids(src: Source, viewer_key: Any = None) -> dict[Any, Any]:
    """Prepared payout grids per (roles, period), filled by ``compare_schemes(cache=...)`` and reused by every
    what-if rerun of this data source (one set per viewer scope: a manager's grids hold only their teams)."""
    return {}


def compare_live(src: Source, current: Any, edited: Any) -> Any:
    """``compare_schemes`` of the current scheme (id ``current``) and the edited one (id ``edited``), reusing the
    cached payout grids: the HR modeller's per-edit fast path (not cached itself — every edit is new).

    Only the two pay tables are read (cut to the signed-in viewer); the clawbacks' credited sales and churn dates
    come from :func:`cx_framework.analysis.sections.payout_inputs`, as for the payouts section, ``cx payouts`` and
    the report — on DuckDB/Spark the sale contacts are picked in the engine, so no raw contacts reach pandas."""
    from cx_framework.incentives import compare_schemes

    t = _pay_tables(src, _viewer_key())
    schemes = [current.model_copy(update={"id": "current"}), edited.model_copy(update={"id": "edited"})]
    inputs = _clawback_inputs(src, _clawback_key(schemes), schemes)  # {} when no scheme has a clawback
    return compare_schemes(
        t["employee_metrics"],
        t["employees"],
        schemes,
        config=config(),
        validate=False,  # validated once when loaded
        cache=_payout_grids(src, _viewer_key()),
        **inputs,
    )


def _clawback_key(schemes: list[Any]) -> int:
    """What the clawback inputs depend on: -1 without a clawback, else the longest clawback window (days)."""
    from cx_framework.analysis.sections import _clawed, _longest_window

    clawed = _clawed(schemes)
    return _longest_window(clawed) if clawed else -1


@st.cache_resource(max_entries=8, show_spinner=False)
def _clawback_inputs(src: Source, key: int, _schemes: list[Any]) -> dict[str, Any]:
    """``sections.payout_inputs`` once per data source and clawback window (``key``, :func:`_clawback_key`), not
    once per edit: the sales and churn dates do not change while HR edits weights or curves."""
    from cx_framework.analysis.sections import payout_inputs

    return payout_inputs(analysis(src), _schemes)[0]


@st.cache_resource(max_entries=8, show_spinner=False)
def _pay_tables(src: Source, viewer_key: tuple[str, tuple[str, ...]] | None) -> dict[str, pd.DataFrame]:
    """``employee_metrics`` and ``employees`` as the viewer may read them (``access.restrict_tables`` on these two
    only: restricting the whole mapping would read every table of a large data directory)."""
    from cx_framework.access import Viewer, restrict_tables

    pay = {name: _tables(src)[name] for name in ("employee_metrics", "employees")}
    viewer = None if viewer_key is None else Viewer(user="", role=viewer_key[0], teams=viewer_key[1])
    return restrict_tables(pay, viewer)


@st.cache_data(max_entries=16)
def metric_months(src: Source) -> int:
    return int(analysis(src).tables["employee_metrics"]["period"].dt.to_period("M").nunique())


def _aggregate_viewer() -> Any:
    """Who reads the pay aggregates on this page: None with access control off, else the signed-in viewer (or,
    before signing in, the policy's not-signed-in viewer)."""
    import _access

    policy = _access.policy()
    if policy is None:
        return None
    return _access.viewer() or policy.anonymous()


def payout_aggregates(src: Source) -> dict[str, pd.DataFrame]:
    """The payouts section's aggregate frames (per-scheme summary and cost, winners and losers per department and
    role) as the signed-in viewer may see them: outside HR, groups smaller than access.yaml's ``min_group_size``
    are merged (``Analysis.frames_for``, enforced where the frames are read). No individual pay."""
    who = _aggregate_viewer()
    a = analysis(src)
    try:
        if a.computed("payouts"):
            return a.frames_for("payouts", who)  # type: ignore[no-any-return]
        with st.spinner(f"Computing {a.section_label('payouts').lower()} from the data…"):
            return a.frames_for("payouts", who)  # type: ignore[no-any-return]
    except CxError as exc:
        show_error(exc, "The bonus scheme comparison cannot be computed from the current data")
        st.stop()
        raise  # pragma: no cover - st.stop raises


def all_schemes_comparison(src: Source) -> Any:
    """Every configured scheme compared, the scheme in force (assumptions.current_scheme) as baseline."""
    return result(src, "payouts")


def current_scheme(src: Source | None = None) -> str | None:
    """Id of the scheme in force (assumptions.yaml ``current_scheme``, resolved by the Analysis)."""
    return analysis(src).assumptions_dict()["current_scheme"]  # type: ignore[no-any-return]


def conflicts_all() -> pd.DataFrame:
    """Conflict matrix of every configured scheme (the Analysis' conflicts section)."""
    return result(source(), "conflicts")  # type: ignore[no-any-return]


def conflicts_for(scheme: Any) -> pd.DataFrame:
    """Conflict matrix of one (edited) scheme; cached on what it depends on: id, component metrics and weights.
    A configured scheme as configured is the Analysis' own rows (its conflicts section, from the disk cache)."""
    parts = tuple((c.metric, c.weight) for c in scheme.components)
    configured = config().schemes.get(scheme.id)
    if configured is not None and parts == tuple((c.metric, c.weight) for c in configured.components):
        matrix = conflicts_all()
        return memo(
            ("conflicts_of", source(), scheme.id),
            lambda: matrix[matrix["scheme"].eq(scheme.id)].reset_index(drop=True),
        )
    key = (scheme.id, parts, config_stamp())
    return _conflicts_for(key, scheme)


@st.cache_resource(max_entries=64, show_spinner=False)
def _conflicts_for(key: tuple[Any, ...], _scheme: Any) -> pd.DataFrame:
    from cx_framework.conflicts import conflict_matrix

    return conflict_matrix(_scheme, config())


def scheme_from_yaml(text: str) -> Any:
    """Parse scheme YAML with the library's own loader and catalogue checks (ConfigError on any problem)."""
    return _scheme_from_yaml(text, config_stamp())


@st.cache_resource(max_entries=64, show_spinner=False)
def _scheme_from_yaml(text: str, stamp: str) -> Any:
    from cx_framework.config import load_scheme
    from cx_framework.incentives import scheme_from_table, scheme_to_table

    with tempfile.TemporaryDirectory(prefix="cx_scheme_") as tmp:
        path = Path(tmp) / "scheme.yaml"
        path.write_text(text, encoding="utf-8")
        scheme = load_scheme(path)
    components, gates = scheme_to_table(scheme)
    return scheme_from_table(scheme, components, gates, config=config())  # catalogue cross-checks


@st.cache_resource(max_entries=16, show_spinner=False)
def behaviour_figure(src: Source, scheme_yaml: str) -> Any:
    from cx_framework.plots import behaviour_waterfall

    # built once per scheme (every rerun of the HR page shows it)
    return memo(
        ("behaviour_figure", src, scheme_yaml),
        lambda: behaviour_waterfall(behaviour(src, scheme_yaml), config=config()),
    )


def configured_scheme_id(scheme_yaml: str) -> str | None:
    """Id of the configured scheme whose YAML (``scheme_to_yaml``) is exactly ``scheme_yaml``, else None."""
    from cx_framework.incentives import scheme_to_yaml

    schemes = config().schemes
    by_yaml = memo(
        ("scheme_yaml", config_stamp()), lambda: {scheme_to_yaml(s): i for i, s in schemes.items()}
    )
    return by_yaml.get(scheme_yaml)  # type: ignore[no-any-return]


def behaviour(src: Source, scheme_yaml: str) -> Any:
    """Behaviour simulation of a scheme: a configured scheme as configured is the Analysis' behaviour section
    (computed once, served from its disk cache); an edited one is simulated here (cached per YAML)."""
    sid = configured_scheme_id(scheme_yaml)
    if sid is not None:
        with contextlib.suppress(CxError, KeyError):
            return analysis(src).result("behaviour")[sid]
    return _behaviour(src, scheme_yaml)


@st.cache_resource(show_spinner="Simulating how employees respond…", max_entries=16)
def _behaviour(src: Source, scheme_yaml: str) -> Any:
    from cx_framework.conflicts import simulate_behaviour

    a = analysis(src)
    return simulate_behaviour(
        scheme_from_yaml(scheme_yaml),
        a.tables,
        config(),
        seed=a.assumptions.seed,
        effort_budget=a.assumptions.effort_budget,
        baseline_periods=a.assumptions.baseline_months,
        validate=False,
    )


def required(src: Source, target: float, shrinkage: float, patience_s: float | None) -> pd.DataFrame:
    """:func:`~cx_framework.staffing.required_agents` of the intervals table. Shrinkage changes only the
    ``required_rostered`` column, so the model (agents needed, modelled service level) is computed once per
    (target, patience) and a shrinkage slider move rescales that column alone."""
    base = _required(src, target, patience_s)
    if shrinkage == _REQUIRED_SHRINKAGE:
        return base
    return memo(
        ("required_rostered", src, target, patience_s, shrinkage),
        # required_agents' definition: required_rostered = required_agents / (1 - shrinkage)
        lambda: base.assign(required_rostered=base["required_agents"] / (1.0 - shrinkage)),
    )


_REQUIRED_SHRINKAGE = 0.0


@st.cache_resource(show_spinner="Computing required agents…", max_entries=8)
def _required(src: Source, target: float, patience_s: float | None) -> pd.DataFrame:
    from cx_framework.staffing import required_agents

    return required_agents(
        analysis(src).tables["intervals"],
        target=target,
        shrinkage=_REQUIRED_SHRINKAGE,
        patience_s=patience_s,
        answer_s=config().economics.answer_s,
        validate=False,  # the Analysis validated the table when it read it
    )


def forecast(src: Source) -> pd.DataFrame:
    """The forecast window's intervals (assumptions.yaml baseline_months up to the reporting month), as the
    Analysis' staffing, budget-gap and optimal-service-level figures use them."""
    return result(src, "staffing").forecast  # type: ignore[no-any-return]


def budget_gap(
    src: Source,
    budget_fte: float,
    target: float,
    shrinkage: float,
    days: int | None = None,
    patience_s: float | None = None,
) -> Any:
    """Budget gap over the forecast window: the Analysis' own when the inputs are the configured ones (funded
    FTE as staffed, economics.yaml target and shrinkage), else a what-if on the same window. ``days`` is
    ignored (kept for callers of the former last-N-days window)."""
    econ = config().economics
    gap = result(src, "staffing").budget_gap
    if (
        (abs(budget_fte - round(gap.fte_budget, 1)) < 1e-9 or abs(budget_fte - gap.fte_budget) < 1e-9)
        and target == econ.service_level_target
        and shrinkage == econ.shrinkage
        and patience_s is None
    ):
        return gap
    return _budget_gap_whatif(src, float(budget_fte), float(target), float(shrinkage), patience_s)


@st.cache_resource(show_spinner="Computing the budget gap…", max_entries=16)
def _budget_gap_whatif(
    src: Source, budget_fte: float, target: float, shrinkage: float, patience_s: float | None = None
) -> Any:
    from cx_framework.actions import budget_gap_inputs
    from cx_framework.conflicts import staffing_budget_gap

    econ = config().economics
    fc = forecast(src)
    return staffing_budget_gap(
        budget_gap_inputs(fc),
        budget_fte,
        target=target,
        shrinkage=shrinkage,
        hours_per_fte=econ.hours_per_fte_week,
        answer_s=econ.answer_s,
        patience_s=patience_s,
        validate=False,  # the Analysis' forecast window: rows of the validated intervals table
    )


def recent_intervals(src: Source, days: int | None = None) -> pd.DataFrame:
    """The forecast window's intervals (``days`` is ignored: the window is assumptions.yaml baseline_months)."""
    from cx_framework.analysis.sections import window_intervals

    return window_intervals(analysis(src))


def stage_fits(src: Source) -> pd.DataFrame:
    """Stage lead times fitted from work_items (the Analysis' SLA-chain section)."""
    a = analysis(src)
    if a.assumptions.sla_lead_times == "data":
        _NOTES[("stage_fits", src)] = a.notes("sla_chain")
        return result(src, "sla_chain")["fitted"]  # type: ignore[no-any-return]
    return _stage_fits(src)


@st.cache_resource(show_spinner="Fitting stage lead times…", max_entries=4)
def _stage_fits(src: Source) -> pd.DataFrame:
    from cx_framework.conflicts import fit_stage_distributions

    return _noted(("stage_fits", src), lambda: fit_stage_distributions(analysis(src).tables["work_items"]))


def chains(src: Source, use_data: bool) -> dict[str, Any]:
    """SLA chains: the Analysis' when ``use_data`` matches assumptions.yaml sla_lead_times, else the other choice."""
    a = analysis(src)
    if use_data == (a.assumptions.sla_lead_times == "data"):
        return result(src, "sla_chain")["chains"]  # type: ignore[no-any-return]
    with contextlib.suppress(CxError, KeyError):
        return a.result("sla_chain_views")["chains"][use_data]  # type: ignore[no-any-return]
    return _chains(src, use_data)


def tightening(src: Source, use_data: bool, journey_id: str, chain: Any) -> pd.DataFrame:
    """:func:`~cx_framework.conflicts.chain.required_tightening` of a journey's chain (from the Analysis'
    sla_chain_views section when there, else computed once per process)."""
    from cx_framework.conflicts import required_tightening

    with contextlib.suppress(CxError, KeyError):
        return analysis(src).result("sla_chain_views")["tightening"][use_data][journey_id]  # type: ignore[no-any-return]
    return memo(("required_tightening", src, use_data, journey_id), lambda: required_tightening(chain))  # type: ignore[no-any-return]


@st.cache_resource(show_spinner="Convolving SLA chains…", max_entries=8)
def _chains(src: Source, use_data: bool) -> dict[str, Any]:
    from cx_framework.conflicts import journey_chain

    fitted = stage_fits(src) if use_data else None
    return {j.id: journey_chain(j, fitted=fitted) for j in config().slas.journeys}


def panel(src: Source) -> pd.DataFrame:
    return result(src, "retention").panel  # type: ignore[no-any-return]


def _retention(src: Source, dose: str) -> Any:
    """The Analysis' retention bundle (fit, value, optimum) for ``dose``: the configured dose's section, or the
    alternatives section for the other shapes (computed once, then served from the disk cache)."""
    a = analysis(src)
    if dose == a.assumptions.retention_dose:
        _NOTES[("retention_fit", src, dose)] = a.notes("retention")
        return result(src, "retention")
    _NOTES[("retention_fit", src, dose)] = a.notes("retention_alternatives")
    return result(src, "retention_alternatives")[dose]


def retention_fit(src: Source, dose: str) -> Any:
    """The retention model for the dose shape (the configured one is the figures' model)."""
    return _retention(src, dose).fit


def failure_demand(src: Source) -> Any:
    return result(src, "failure_demand")


def optional(module: str, name: str) -> Any | None:
    """``module.name`` if an engine has shipped it yet, else None (its section is left out, never faked)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, name, None)


def actions(src: Source) -> pd.DataFrame:
    """Ranked actions of the Analysis (its frame: served from the disk cache without recomputing); empty, with
    the reason shown, when the data does not support them."""
    try:
        # as the signed-in viewer may see them (outside HR no switch to a scheme paying too few people)
        return analysis(src).frames_for("actions", _aggregate_viewer())["actions"]  # type: ignore[no-any-return]
    except CxError as exc:
        st.info(f"Recommended actions are not available: {exc}")
        return pd.DataFrame()


def period_retention(src: Source) -> Any:
    """Monthly service level vs churn: the Analysis' retention_by_period section (computed once per data and
    config, then served from its disk cache; on DuckDB/Spark the customers are grouped in the engine)."""
    a = analysis(src)
    value = result(src, "retention_by_period")
    _NOTES[("period_retention", src)] = a.notes("retention_by_period")
    return value


def sl_value(src: Source, dose: str) -> pd.DataFrame:
    return _retention(src, dose).value  # type: ignore[no-any-return]


def optimum(src: Source, dose: str, days: int | None = None) -> Any:
    """The profit-maximising SL over the forecast window (``days`` is ignored: the window is assumptions.yaml
    baseline_months)."""
    return _retention(src, dose).optimum


@st.cache_resource(show_spinner=False, max_entries=64)
def fix_absorb(src: Source, source_id: str, fix_cost: float, reduction: float, horizon: int) -> Any:
    from cx_framework.failure_demand import fix_vs_absorb

    return fix_vs_absorb(
        failure_demand(src),
        source_id,
        fix_cost=fix_cost,
        expected_reduction=reduction,
        horizon_months=horizon,
        config=config(),
    )
