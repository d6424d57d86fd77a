"""Data source and cached library results shared by every page (UI only: all numbers come from cx_framework).

Caching: every heavy result is cached with ``st.cache_resource`` on hash-friendly keys — the data *source* (a
tuple of strings: data directory, fallback directory, file stamp) and, for edited schemes, the scheme's YAML text.
Cached objects are shared between sessions and must be treated as read-only by the pages.
"""

from __future__ import annotations

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


def config_stamp(config_dir: str = CONFIG_DIR) -> str:
    """Changes whenever a YAML file of the configuration changes (so edited configs are picked up); re-checked
    at most once a second (pages look the config up many times per rerun)."""
    import time

    now = time.monotonic()
    cached = _STAMPS.get(config_dir)
    if cached is not None and now - cached[0] < 1.0:
        return cached[1]
    stamp = _config_stamp(config_dir)
    _STAMPS[config_dir] = (now, stamp)
    return stamp


def _config_stamp(config_dir: str) -> str:
    root = Path(config_dir)
    files = sorted([*root.glob("*.yaml"), *root.glob("incentives/*.yaml")])
    stats = [(p.name, p.stat()) for p in files]
    return "|".join(f"{name}:{info.st_mtime_ns}:{info.st_size}" for name, info in stats)


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
def config(config_dir: str = CONFIG_DIR) -> Any:
    """The configuration (re-read when a YAML file changes)."""
    return _config(config_dir, config_stamp(config_dir))


@st.cache_resource(show_spinner="Loading configuration…", max_entries=4)
def _config(config_dir: str, stamp: str) -> Any:
    from cx_framework.config import load_config

    return load_config(config_dir)


@st.cache_resource(show_spinner="Loading and validating the sample data…")
def _sample() -> dict[str, pd.DataFrame]:
    from cx_framework.synthetic import load_sample

    return load_sample().tables()


@st.cache_resource(show_spinner="Loading and validating data…", max_entries=4)
def _tables(src: Source) -> dict[str, pd.DataFrame]:
    directory, fallback, _ = src
    if not directory:
        return _sample()
    if _is_upload(src):
        return load_tables(directory, _tables(_plain_source(fallback)))[0]
    from cx_framework.io import load_data_dir

    return load_data_dir(directory)


def tables(src: Source | None = None) -> dict[str, pd.DataFrame]:
    """Validated tables of the source; on invalid data the page shows the failure table and stops."""
    src = src or source()
    try:
        return _tables(src)
    except CxError as exc:
        show_error(exc, "The data could not be loaded")
        st.stop()
        raise  # pragma: no cover - st.stop raises


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


# ------------------------------------------------------------------------------------------------ results
@st.cache_resource(show_spinner="Scoring departments…", max_entries=4)
def scorecard(src: Source) -> Any:
    from cx_framework.scorecard import score

    t = _tables(src)
    return score(
        t["department_metrics"], config(), employee_metrics=t["employee_metrics"], employees=t["employees"]
    )


@st.cache_resource(max_entries=4)
def _payout_grids(src: Source) -> dict[Any, Any]:
    """Prepared payout grids per (roles, period), filled by ``compare_schemes(cache=...)`` and reused by every
    what-if rerun of this data source."""
    return {}


def compare_live(src: Source, current: Any, edited: Any) -> Any:
    """``compare_schemes`` of the current scheme (id ``current``) and the edited one (id ``edited``), reusing the
    cached payout grids: the HR modeller's per-edit fast path (not cached itself — every edit is new)."""
    from cx_framework.incentives import compare_schemes

    t = _tables(src)
    return compare_schemes(
        t["employee_metrics"],
        t["employees"],
        [current.model_copy(update={"id": "current"}), edited.model_copy(update={"id": "edited"})],
        config=config(),
        validate=False,  # validated once when loaded
        cache=_payout_grids(src),
    )


@st.cache_data(max_entries=16)
def metric_months(src: Source) -> int:
    return int(_tables(src)["employee_metrics"]["period"].dt.to_period("M").nunique())


@st.cache_resource(show_spinner="Comparing every scheme…", max_entries=4)
def all_schemes_comparison(src: Source) -> Any:
    from cx_framework.incentives import compare_schemes

    t = _tables(src)
    cfg = config()
    return compare_schemes(t["employee_metrics"], t["employees"], cfg.schemes, config=cfg, validate=False)


def conflicts_all() -> pd.DataFrame:
    """Conflict matrix of every configured scheme."""
    return _conflicts_all(config_stamp())


@st.cache_resource(show_spinner="Computing the conflict matrix…", max_entries=4)
def _conflicts_all(stamp: str) -> pd.DataFrame:
    from cx_framework.conflicts import conflict_matrix

    cfg = config()
    return conflict_matrix(cfg.schemes, cfg)


def conflicts_for(scheme: Any) -> pd.DataFrame:
    """Conflict matrix of one (edited) scheme; cached on what it depends on: id, component metrics and weights."""
    key = (scheme.id, tuple((c.metric, c.weight) for c in scheme.components), config_stamp())
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

    return behaviour_waterfall(behaviour(src, scheme_yaml))


@st.cache_resource(show_spinner="Simulating how employees respond…", max_entries=16)
def behaviour(src: Source, scheme_yaml: str) -> Any:
    from cx_framework.conflicts import simulate_behaviour

    return simulate_behaviour(scheme_from_yaml(scheme_yaml), _tables(src), config())


@st.cache_resource(show_spinner="Computing required agents…", max_entries=8)
def required(src: Source, target: float, shrinkage: float, patience_s: float | None) -> pd.DataFrame:
    from cx_framework.staffing import required_agents

    return required_agents(
        _tables(src)["intervals"], target=target, shrinkage=shrinkage, patience_s=patience_s
    )


@st.cache_resource(show_spinner="Computing the budget gap…", max_entries=16)
def budget_gap(
    src: Source,
    budget_fte: float,
    target: float,
    shrinkage: float,
    days: int,
    patience_s: float | None = None,
) -> Any:
    from cx_framework.conflicts import staffing_budget_gap

    forecast = recent_intervals(src, days)
    return staffing_budget_gap(
        forecast,
        budget_fte,
        target=target,
        shrinkage=shrinkage,
        hours_per_fte=config().economics.hours_per_fte_week,
        answer_s=config().economics.answer_s,
        patience_s=patience_s,
    )


@st.cache_resource(max_entries=8)
def recent_intervals(src: Source, days: int) -> pd.DataFrame:
    """The last ``days`` calendar days of the intervals table (the forecast stand-in of the budget view)."""
    iv = _tables(src)["intervals"]
    end = iv["interval_start"].max().normalize()
    return iv[iv["interval_start"] >= end - pd.Timedelta(days=days - 1)].reset_index(drop=True)


@st.cache_resource(show_spinner="Fitting stage lead times…", max_entries=4)
def stage_fits(src: Source) -> pd.DataFrame:
    from cx_framework.conflicts import fit_stage_distributions

    return _noted(("stage_fits", src), lambda: fit_stage_distributions(_tables(src)["work_items"]))


@st.cache_resource(show_spinner="Convolving SLA chains…", max_entries=8)
def chains(src: Source, use_data: bool) -> dict[str, Any]:
    from cx_framework.conflicts import journey_chain

    fitted = stage_fits(src) if use_data else None
    return {j.id: journey_chain(j, fitted=fitted) for j in config().slas.journeys}


@st.cache_resource(show_spinner="Building the customer × month panel…", max_entries=4)
def panel(src: Source) -> pd.DataFrame:
    from cx_framework.retention import build_customer_panel

    t = _tables(src)
    return build_customer_panel(t["contacts"], t["customers"], threshold_s=config().economics.answer_s)


@st.cache_resource(show_spinner="Fitting the retention model…", max_entries=8)
def retention_fit(src: Source, dose: str) -> Any:
    from cx_framework.retention import fit_retention

    return _noted(("retention_fit", src, dose), lambda: fit_retention(panel(src), dose=dose))  # type: ignore[arg-type]


@st.cache_resource(show_spinner="Attributing failure demand…", max_entries=4)
def failure_demand(src: Source) -> Any:
    from cx_framework.failure_demand import attribute_failure_demand

    cfg = config()
    return attribute_failure_demand(_tables(src)["contacts"], cfg, economics=cfg.economics)


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


@st.cache_resource(show_spinner="Ranking recommended actions…", max_entries=4)
def actions(src: Source) -> pd.DataFrame:
    """Ranked actions from ``cx_framework.actions.recommend_actions`` (only called when it exists)."""
    recommend = optional("cx_framework.actions", "recommend_actions")
    if recommend is None:  # pragma: no cover - callers check first
        raise RuntimeError("recommend_actions is not available")
    # reuse what the pages already computed (same calls as inside recommend_actions)
    precomputed = {
        "scorecard": scorecard(src),
        "failure_demand": failure_demand(src),
        "conflicts": conflicts_all(),
    }
    try:
        result = recommend(_tables(src), config(), precomputed=precomputed)
    except TypeError:  # an engine version without ``precomputed``
        result = recommend(_tables(src), config())
    for attribute in ("table", "actions", "frame"):
        if isinstance(getattr(result, attribute, None), pd.DataFrame):
            return getattr(result, attribute)
    if hasattr(result, "to_frame"):
        return result.to_frame()
    return pd.DataFrame(result)


@st.cache_resource(show_spinner="Monthly service level vs retention…", max_entries=4)
def period_retention(src: Source) -> Any:
    from cx_framework.retention import sl_retention_by_period

    t = _tables(src)
    return _noted(("period_retention", src), lambda: sl_retention_by_period(t["intervals"], t["customers"]))


@st.cache_resource(show_spinner="Valuing a point of service level…", max_entries=8)
def sl_value(src: Source, dose: str) -> pd.DataFrame:
    from cx_framework.retention import value_of_service_level

    return value_of_service_level(retention_fit(src, dose), _tables(src)["customers"], config())


@st.cache_resource(show_spinner="Finding the profit-maximising service level…", max_entries=8)
def optimum(src: Source, dose: str, days: int) -> Any:
    from cx_framework.economics import optimal_service_level

    return optimal_service_level(
        recent_intervals(src, days),
        retention_fit(src, dose),
        _tables(src)["customers"],
        config(),
        n_draws=400,
    )


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
