"""Roll metric values up the organisation: agent -> team -> department -> organisation, per period.

Aggregation follows each metric's catalogue ``aggregation`` (``configs/metrics.yaml``):

* ``sum`` — Σ value (e.g. products sold);
* ``mean`` — plain mean of the parts' values (e.g. a quality-form score);
* ``volume_weighted`` and ``ratio`` — Σ value·volume / Σ volume, i.e. the ratio recomputed from its numerator
  and denominator. This is the only correct way to combine shares such as service level: the mean of team
  percentages over-weights small teams (ICMI; Cleveland, *Call Center Management on Fast Forward*, ch. 3).

Precedence: a value *reported* at a level wins over one rolled up from below. A ``department_metrics`` row with
``team`` null is the department's own figure; only when it is absent is the department's value rolled up from
its team rows (reported or rolled up from ``employee_metrics`` via ``employees``). The organisation (department
id ``"organisation"``) is always rolled up from the department values, unless reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cx_framework._compat import PANDAS_3, as_text
from cx_framework.config.models import Metric
from cx_framework.errors import DataValidationError

__all__ = ["ORGANISATION", "LEVELS", "VALUE_COLUMNS", "combine", "build_values"]

#: Department id of the organisation-level rows.
ORGANISATION = "organisation"
#: Drill-down levels, top to bottom.
LEVELS: tuple[str, ...] = ("organisation", "department", "team", "employee")
#: Columns of the tidy values frame returned by :func:`build_values`.
VALUE_COLUMNS = [
    "level",
    "period",
    "department",
    "team",
    "employee_id",
    "metric",
    "value",
    "volume",
    "source",
    "note",
]
_WEIGHTED = ("volume_weighted", "ratio")


def combine(
    rows: pd.DataFrame, keys: list[str], catalogue: Mapping[str, Metric], *, what: str = "the next level"
) -> pd.DataFrame:
    """Aggregate ``rows`` to one value per ``keys`` + ``metric`` following each metric's catalogue rule.

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns ``keys``, ``metric``, ``value``, ``volume`` and, for error messages, ``source_table`` and
        ``source_row``. Rows with a NaN ``value`` (a part that itself had no data, e.g. zero volume) are skipped.
    keys : list of str
        Group columns of the result, e.g. ``["period", "department"]``.
    catalogue : mapping of metric id -> Metric
        Every metric in ``rows`` must be in it.
    what : str
        Name of the target level, used in error messages.

    Returns
    -------
    pandas.DataFrame
        ``keys`` + ``metric``, ``value``, ``volume`` (Σ volume of the parts; NaN if no part had one),
        ``note`` (``"zero volume"`` where a weighted metric's parts carry no volume, value then NaN).

    Raises
    ------
    DataValidationError
        A ``volume_weighted`` / ``ratio`` metric has parts without ``volume`` — the ratio cannot be recomputed
        from its parts. The failures frame lists the offending source rows.
    """
    rows = rows[rows["value"].notna()]
    aggregation = rows["metric"].map({m: catalogue[m].aggregation for m in rows["metric"].unique()})
    weighted = aggregation.isin(_WEIGHTED).to_numpy()
    missing = weighted & rows["volume"].isna().to_numpy()
    if missing.any():
        bad = rows[missing]
        failures = pd.DataFrame(
            {
                "table": bad.get("source_table", pd.Series("rolled up", index=bad.index)).fillna("rolled up"),
                "column": "volume",
                "check": "volume_required_for_rollup",
                "row": bad.get("source_row", pd.Series(np.nan, index=bad.index)),
                "value": bad["metric"].astype(str),
            }
        )
        metrics = ", ".join(sorted(bad["metric"].astype(str).unique()))
        first = failures.head(5)
        where = "; ".join(
            f"{t} row {r if pd.notna(r) else '?'}" for t, r in zip(first["table"], first["row"], strict=True)
        )
        raise DataValidationError(
            f"Cannot roll up metric(s) {metrics} to {what}: they aggregate as volume_weighted/ratio "
            f"(Σ value·volume / Σ volume) but {len(bad)} part row(s) have no 'volume' (e.g. {where}). "
            "Provide 'volume' (the denominator: contacts, customers, responses) or report the higher-level "
            "value directly; see err.failures for every row.",
            failures=failures,
            table=str(failures["table"].iloc[0]),
        )
    vol = rows["volume"].astype(float)
    frame = pd.DataFrame(
        {
            **{k: rows[k] for k in keys},
            "metric": rows["metric"],
            "value": rows["value"].astype(float),
            "volume": vol,
            "_wv": np.where(weighted, rows["value"].to_numpy(float) * vol.to_numpy(), 0.0),
            "_w": np.where(weighted, vol.fillna(0.0).to_numpy(), 0.0),
        }
    )
    g = frame.groupby([*keys, "metric"], sort=True, observed=True)
    out = g[["value", "_wv", "_w"]].sum()
    out["_n"] = g.size()
    out["volume"] = g["volume"].sum(min_count=1)
    out = out.reset_index()
    agg = out["metric"].map({m: catalogue[m].aggregation for m in out["metric"].unique()})
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = out["_wv"] / out["_w"].where(out["_w"] > 0)
    out["value"] = np.select(
        [agg.eq("sum"), agg.eq("mean"), agg.isin(_WEIGHTED)],
        [out["value"], out["value"] / out["_n"], ratio],
        default=np.nan,
    )
    zero = agg.isin(_WEIGHTED) & ~(out["_w"] > 0)
    out["note"] = np.where(zero, "zero volume", "")
    return out[[*keys, "metric", "value", "volume", "note"]]


def _anti_join(rolled: pd.DataFrame, reported: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows of ``rolled`` whose key is not reported."""
    if reported.empty or rolled.empty:
        return rolled
    k = [*keys, "metric"]
    marker = reported[k].drop_duplicates().assign(_reported=True)
    merged = rolled.merge(marker, on=k, how="left")
    return merged[merged["_reported"].isna()].drop(columns="_reported")


def _level(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    # every text column as pandas "str" (missing = NaN) so that concatenating millions of agent rows stays
    # Arrow-backed instead of materialising Python objects
    out = frame.copy()
    out["level"] = level
    for col in VALUE_COLUMNS:
        if col in ("value", "volume", "period"):
            if col not in out.columns:
                out[col] = np.nan
        elif col not in out.columns:
            out[col] = pd.Series(np.nan, index=out.index, dtype="str")
        elif not (PANDAS_3 and out[col].dtype == "str"):
            out[col] = as_text(out[col])
    return out


def build_values(
    department_metrics: pd.DataFrame,
    catalogue: Mapping[str, Metric],
    *,
    employee_metrics: pd.DataFrame | None = None,
    employees: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every metric value at every level of the organisation, reported or rolled up.

    Parameters
    ----------
    department_metrics : pandas.DataFrame
        Validated ``department_metrics`` (``team`` null = department-level row).
    catalogue : mapping of metric id -> Metric
        Catalogue entries for every metric present (unknown metrics must be filtered out before).
    employee_metrics, employees : pandas.DataFrame, optional
        Validated ``employee_metrics`` and ``employees``; employee rows roll up to (department, team) from
        ``employees``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALUE_COLUMNS`: ``level`` in :data:`LEVELS`; ``source`` = ``"reported"`` or
        ``"rolled up"``; ``note`` = ``"zero volume"`` when a weighted metric's parts had no volume (value NaN).

    Raises
    ------
    DataValidationError
        An employee in ``employee_metrics`` is missing from ``employees``; a weighted metric lacks volume where a
        roll-up needs it (see :func:`combine`).
    """
    dm = department_metrics.copy()
    if "volume" not in dm.columns:
        dm["volume"] = np.nan
    dm["source_table"] = "department_metrics"
    dm["source_row"] = np.arange(len(dm))
    dm["team"] = as_text(dm["team"])
    dm["source"] = "reported"
    dm["note"] = ""

    # ---- agents
    emp_rows = pd.DataFrame(columns=[*VALUE_COLUMNS, "source_table", "source_row"])
    if employee_metrics is not None and employees is not None and len(employee_metrics):
        em = employee_metrics.copy()
        if "volume" not in em.columns:
            em["volume"] = np.nan
        em["source_table"] = "employee_metrics"
        em["source_row"] = np.arange(len(em))
        org = employees[["employee_id", "department", "team"]].astype({"employee_id": str})
        em = em.merge(org, on="employee_id", how="left", validate="many_to_one")
        unknown = em["department"].isna()
        if unknown.any():
            ids = sorted(em.loc[unknown, "employee_id"].astype(str).unique())
            raise DataValidationError(
                f"employee_metrics has {len(ids)} employee id(s) not in the employees table "
                f"(e.g. {', '.join(ids[:5])}); add them to employees (department, team) so their values can "
                "roll up, or drop their rows.",
                failures=pd.DataFrame(
                    {
                        "table": "employee_metrics",
                        "column": "employee_id",
                        "check": "employee_in_employees",
                        "row": em.loc[unknown, "source_row"].to_numpy(),
                        "value": em.loc[unknown, "employee_id"].astype(str).to_numpy(),
                    }
                ),
                table="employee_metrics",
            )
        em["source"] = "reported"
        em["note"] = ""
        emp_rows = _level(em, "employee")

    # ---- teams
    team_reported = dm[dm["team"].notna() & dm["department"].ne(ORGANISATION)]
    if len(emp_rows):
        rolled = combine(emp_rows, ["period", "department", "team"], catalogue, what="teams")
        rolled = _anti_join(rolled, team_reported, ["period", "department", "team"])
        rolled["source"] = "rolled up"
        teams = pd.concat([_level(team_reported, "team"), _level(rolled, "team")], ignore_index=True)
    else:
        teams = _level(team_reported, "team")

    # ---- departments
    dept_reported = dm[dm["team"].isna() & dm["department"].ne(ORGANISATION)]
    rolled = combine(teams, ["period", "department"], catalogue, what="departments")
    rolled = _anti_join(rolled, dept_reported, ["period", "department"])
    rolled["source"] = "rolled up"
    departments = pd.concat(
        [_level(dept_reported, "department"), _level(rolled, "department")], ignore_index=True
    )

    # ---- organisation
    org_reported = dm[dm["department"].eq(ORGANISATION)]
    rolled = combine(departments, ["period"], catalogue, what="the organisation")
    rolled = _anti_join(rolled, org_reported, ["period"])
    rolled["source"] = "rolled up"
    rolled["department"] = ORGANISATION
    organisation = pd.concat(
        [_level(org_reported, "organisation"), _level(rolled, "organisation")], ignore_index=True
    )

    # top-down order; the (small) upper levels are sorted, agent rows keep their input order (sorting millions
    # of agent rows costs seconds and buys nothing)
    keys = ["period", "department", "team", "metric"]
    ordered = [
        organisation.sort_values(keys, na_position="first"),
        departments.sort_values(keys, na_position="first"),
        teams.sort_values(keys, na_position="first"),
        emp_rows,
    ]
    ordered = [p[VALUE_COLUMNS] for p in ordered if len(p)]
    values = pd.concat(ordered, ignore_index=True)
    codes = np.repeat(
        np.arange(len(LEVELS))[[LEVELS.index(str(p["level"].iloc[0])) for p in ordered]],
        [len(p) for p in ordered],
    )
    values["level"] = pd.Categorical.from_codes(codes, categories=list(LEVELS), ordered=True)
    values["period"] = pd.to_datetime(values["period"])
    values["value"] = values["value"].astype(float)
    values["volume"] = values["volume"].astype(float)
    values["note"] = values["note"].fillna("")
    return values
