"""``ScorecardResult``: the tidy frames of a scored organisation plus drill-down and trend views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.errors import InputValueError
from cx_framework.maturity import INCOMPLETE
from cx_framework.scorecard.aggregate import LEVELS, ORGANISATION
from cx_framework.scorecard.scoring import score_values, status_of

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.config.loader import CxConfig

__all__ = ["ScorecardResult", "NOT_SCORED"]

#: Status of a drill-down row without an objective (no objective for the metric at that department, or a
#: ``sum`` metric below department level, whose department target does not apply to its parts).
NOT_SCORED = "not scored"


@dataclass(frozen=True)
class ScorecardResult:
    """Result of :func:`cx_framework.scorecard.score`.

    Attributes
    ----------
    metric_scores : pandas.DataFrame
        One row per period, card (``"shared"``/``"local"``), department and scorecard metric: value, volume,
        threshold/target/stretch, weight, ``score`` (0–120, NaN = no data), ``status``, ``source``
        (reported / rolled up / none) and ``note``.
    department_scores : pandas.DataFrame
        Local-card composites per period and department: ``composite``, ``coverage``, ``status``,
        ``green_inside_red_outside``, ``red_outside``, ``shared_composite``, ``shared_status``.
    shared_scores : pandas.DataFrame
        Shared-card composites per period and department, including ``department == "organisation"``.
    alignment : pandas.DataFrame
        Per department: weight alignment, empirical r with n and CI, green-inside-red-outside counts.
    exceptions : pandas.DataFrame
        Threshold breaches and control-chart signals, newest and worst first.
    values : pandas.DataFrame
        Every metric value at every level (organisation, department, team, employee).
    control : pandas.DataFrame
        XmR centre, limits and rule flags per series and period.
    """

    metric_scores: pd.DataFrame
    department_scores: pd.DataFrame
    shared_scores: pd.DataFrame
    alignment: pd.DataFrame
    exceptions: pd.DataFrame
    values: pd.DataFrame = field(repr=False)
    control: pd.DataFrame = field(repr=False)
    config: CxConfig = field(repr=False)
    periods: tuple[pd.Timestamp, ...] = ()

    # ------------------------------------------------------------------------------------------ helpers
    def _period(self, period: Any) -> pd.Timestamp:
        from cx_framework.scorecard.core import parse_periods

        if period is None:
            return max(self.periods)
        (ts,) = parse_periods(period)
        available = set(self.values["period"].unique())
        if ts not in available:
            raise InputValueError(
                f"period {ts:%Y-%m} is not in this result; available: "
                f"{min(available):%Y-%m} to {max(available):%Y-%m}",
                argument="period",
            )
        return ts

    def _metric(self, metric: str) -> None:
        if metric not in self.config.metrics.by_id:
            raise InputValueError(
                f"unknown metric {metric!r}; known: {', '.join(sorted(self.config.metrics.by_id))}",
                argument="metric",
            )

    # ------------------------------------------------------------------------------------------ views
    def drill_down(
        self, metric: str, period: Any = None, by: str | tuple[str, ...] = ("department", "team")
    ) -> pd.DataFrame:
        """One metric in one period, from the organisation down the requested levels.

        Parameters
        ----------
        metric : str
            Metric id.
        period : str or Timestamp, optional
            Month (default: the last reported period).
        by : str or tuple of str
            Levels below the organisation, from ``("department", "team", "employee")``.

        Returns
        -------
        pandas.DataFrame
            ``level, department, team, employee_id, value, volume, source, share_of_volume`` (share 0–1 of the
            parent's volume; NaN without volume), ``score``, ``status``. Rows are scored against the shared
            objective when the metric is on the shared card, else against the department's local objective;
            ``sum`` metrics are not scored below department level (status ``"not scored"``).
        """
        self._metric(metric)
        ts = self._period(period)
        levels = (by,) if isinstance(by, str) else tuple(by)
        bad = [lv for lv in levels if lv not in LEVELS[1:]]
        if bad:
            raise InputValueError(f"by={bad}: levels are {', '.join(LEVELS[1:])}", argument="by")
        rows = self.values[
            self.values["metric"].eq(metric)
            & self.values["period"].eq(ts)
            & self.values["level"].astype(str).isin([ORGANISATION, *levels])
        ].copy()
        rows["level"] = rows["level"].astype(str)
        cfg = self.config
        catalogue = cfg.metrics.by_id[metric]
        shared = {o.metric: o for o in cfg.scorecard.shared}.get(metric)
        local = {d: o for d, objs in cfg.scorecard.local.items() for o in objs if o.metric == metric}
        levels_obj = pd.DataFrame(
            [
                (d, o.threshold, o.target, o.stretch)
                for d in rows["department"].unique()
                if (o := shared or local.get(d)) is not None
            ],
            columns=["department", "threshold", "target", "stretch"],
        )
        rows = rows.merge(levels_obj, on="department", how="left")
        rows["score"] = score_values(
            rows["value"], rows["threshold"], rows["target"], rows["stretch"], catalogue.direction
        )
        rows["status"] = status_of(rows["value"], rows["threshold"], rows["target"], catalogue.direction)
        unscored = rows["threshold"].isna()
        if catalogue.aggregation == "sum":
            unscored |= rows["level"].isin(["team", "employee"])
        rows.loc[unscored, "score"] = np.nan
        rows.loc[unscored & rows["value"].notna(), "status"] = NOT_SCORED
        if "complete" in rows.columns:  # a month that cannot be observed yet is never scored
            incomplete = ~rows["complete"].astype(bool) & rows["value"].notna()
            rows.loc[incomplete, "score"] = np.nan
            rows.loc[incomplete, "status"] = INCOMPLETE
        # share of the parent's volume: department within organisation, team within department, agent in team
        parent = {
            "department": ["period"],
            "team": ["period", "department"],
            "employee": ["period", "department", "team"],
        }
        rows["share_of_volume"] = np.nan
        for lv, keys in parent.items():
            mask = rows["level"].eq(lv)
            if mask.any():
                tot = rows[mask].groupby(keys, dropna=False)["volume"].transform("sum")
                rows.loc[mask, "share_of_volume"] = rows.loc[mask, "volume"] / tot.where(tot > 0)
        rows["level"] = pd.Categorical(rows["level"], categories=list(LEVELS), ordered=True)
        cols = [
            "level",
            "department",
            "team",
            "employee_id",
            "value",
            "volume",
            "source",
            "share_of_volume",
            "score",
            "status",
        ]
        return rows.sort_values(["level", "department", "team", "employee_id"], na_position="first")[
            cols
        ].reset_index(drop=True)

    def trend(self, key: str, *, department: str | None = None) -> pd.DataFrame:
        """Over periods: a metric (with control limits and signals) or a department's composites.

        Parameters
        ----------
        key : str
            A metric id, or a department id (``"organisation"`` for the organisation).
        department : str, optional
            With a metric: restrict to this department (``"organisation"`` allowed); default all departments and
            the organisation.

        Returns
        -------
        pandas.DataFrame
            Metric: ``period, department, value, centre, lcl, ucl, WE1..WE4, signal`` (a bad-direction rule
            fired), ``score``, ``status`` (shared card if the metric is shared, else local). Department:
            ``period, department, local_composite, local_status, shared_composite, shared_status, coverage,
            shared_coverage, green_inside_red_outside``.
        """
        if key in self.config.metrics.by_id:
            c = self.control[
                self.control["metric"].eq(key) & self.control["level"].isin([ORGANISATION, "department"])
            ]
            if department is not None:
                c = c[c["department"].eq(department)]
            rules = ["WE1", "WE2", "WE3", "WE4"]
            out = c[["period", "department", "value", "centre", "lcl", "ucl", *rules]].copy()
            out["signal"] = c[rules].any(axis=1) & c["side"].eq("worse")
            ms = self.metric_scores[self.metric_scores["metric"].eq(key)]
            card = "shared" if ms["card"].eq("shared").any() else "local"
            ms = self.metric_scores_all_periods(key, card)
            out = out.merge(ms, on=["period", "department"], how="left")
            return out.sort_values(["department", "period"]).reset_index(drop=True)
        departments = set(self.shared_scores["department"]) | set(self.department_scores["department"])
        if key not in departments:
            raise InputValueError(
                f"{key!r} is neither a metric nor a department of this result; departments: "
                f"{', '.join(sorted(departments))}",
                argument="key",
            )
        local = self.department_scores[self.department_scores["department"].eq(key)][
            ["period", "department", "composite", "status", "coverage", "green_inside_red_outside"]
        ].rename(columns={"composite": "local_composite", "status": "local_status"})
        shared = self.shared_scores[self.shared_scores["department"].eq(key)][
            ["period", "department", "composite", "status", "coverage"]
        ].rename(
            columns={
                "composite": "shared_composite",
                "status": "shared_status",
                "coverage": "shared_coverage",
            }
        )
        out = shared.merge(local, on=["period", "department"], how="left")
        cols = [
            "period",
            "department",
            "local_composite",
            "local_status",
            "shared_composite",
            "shared_status",
            "coverage",
            "shared_coverage",
            "green_inside_red_outside",
        ]
        return out[cols].sort_values("period").reset_index(drop=True)

    def metric_scores_all_periods(self, metric: str, card: str) -> pd.DataFrame:
        """Score and status of ``metric`` on ``card`` for every period in ``values`` (not only the reported ones)."""
        ms = self.metric_scores[self.metric_scores["metric"].eq(metric) & self.metric_scores["card"].eq(card)]
        objectives = ms.drop_duplicates("department")[
            ["department", "threshold", "target", "stretch", "direction"]
        ]
        v = self.values[
            self.values["metric"].eq(metric) & self.values["level"].isin([ORGANISATION, "department"])
        ]
        v = v[["period", "department", "value"]].merge(objectives, on="department", how="inner")
        v["score"] = score_values(v["value"], v["threshold"], v["target"], v["stretch"], v["direction"])
        v["status"] = status_of(v["value"], v["threshold"], v["target"], v["direction"])
        return v[["period", "department", "score", "status"]]

    # ------------------------------------------------------------------------------------------ output
    def summary(self, period: Any = None, *, top: int = 10) -> str:
        """Plain-text department table for ``period`` (default the last) and its top exceptions."""
        ts = self._period(period)
        d = self.department_scores[self.department_scores["period"].eq(ts)]
        s = self.shared_scores[self.shared_scores["period"].eq(ts)][
            ["department", "composite", "status", "coverage"]
        ]
        table = s.merge(
            d[["department", "composite", "status", "green_inside_red_outside"]],
            on="department",
            how="left",
            suffixes=("_shared", "_local"),
        )
        table = table.assign(_top=table["department"].ne(ORGANISATION)).sort_values(["_top", "department"])
        lines = [
            f"Scorecard {ts:%Y-%m}",
            f"{'department':<16}{'shared':>8} {'status':<8}{'cover':>6}{'local':>8} {'status':<8} flag",
        ]
        for rec in table.to_dict("records"):
            flag = "green inside, red outside" if rec.get("green_inside_red_outside") is True else ""
            lines.append(
                f"{rec['department']:<16}{rec['composite_shared']:>8.1f} {rec['status_shared']:<8}{rec['coverage']:>6.0%}"
                f"{rec['composite_local']:>8.1f} {str(rec['status_local']):<8} {flag}".replace("nan", "  -")
            )
        ex = self.exceptions[self.exceptions["period"].eq(ts)].head(top)
        lines.append(f"Top {len(ex)} exceptions")
        for rec in ex.to_dict("records"):
            lines.append(
                f"  sev {rec['severity']}  {rec['department']}/{'-' if pd.isna(rec['team']) else rec['team']}  {rec['metric']}  {rec['rule']}  value {rec['value']:.4g}"
            )
        return "\n".join(lines)

    def _repr_period(self) -> pd.Timestamp | None:
        """The latest period whose organisation composite is complete (else the latest period)."""
        org = self.shared_scores[self.shared_scores["department"].eq(ORGANISATION)]
        complete = org.loc[org["status"].ne(INCOMPLETE), "period"]
        if len(complete):
            return pd.Timestamp(complete.max())
        return max(self.periods) if self.periods else None

    def key_figures(self, period: Any = None) -> list[Any]:
        """The registry figures of this scorecard for ``period`` (default: the latest complete month): the
        organisation's customer composite, each shared metric's value and the green-inside-red-outside count —
        the figures the Analysis's scorecard section shows."""
        from cx_framework import figures as F

        ts = self._period(period) if period is not None else self._repr_period()
        if ts is None:
            return []
        month = f"{ts:%Y-%m}"
        currency = self.config.economics.currency
        out: list[Any] = []
        org = self.shared_scores[
            self.shared_scores["department"].eq(ORGANISATION) & self.shared_scores["period"].eq(ts)
        ]
        if len(org):
            out.append(
                F.SCORECARD_COMPOSITE.figure(float(org["composite"].iloc[0]), period=month, currency=currency)
            )
        ms = self.metric_scores
        shared = ms[ms["card"].eq("shared") & ms["department"].eq(ORGANISATION) & ms["period"].eq(ts)]
        for row in shared.itertuples(index=False):
            metric = self.config.metrics.by_id.get(row.metric)
            if metric is None:
                continue
            fig = F.SCORECARD_METRIC.figure(
                float(row.value) if pd.notna(row.value) else None,
                period=month,
                currency=currency,
                metric=row.metric,
                metric_name=metric.name,
                metric_definition=metric.definition.rstrip("."),
            )
            out.append(F.with_catalogue_format(fig, metric.unit))
        d = self.department_scores[self.department_scores["period"].eq(ts)]
        out.append(
            F.SCORECARD_GIRO.figure(int(d["green_inside_red_outside"].sum()), period=month, currency=currency)
        )
        return out

    def _repr_html_(self) -> str:
        from cx_framework._display import figure_rows, html_card

        ts = self._repr_period()
        if ts is None:
            return html_card("Scorecard (no periods)")
        names = {d.id: d.name for d in self.config.organisation.departments}
        d = self.department_scores[self.department_scores["period"].eq(ts)]
        s = self.shared_scores[self.shared_scores["period"].eq(ts)]
        table = s[["department", "composite", "status"]].merge(
            d[["department", "composite", "status", "green_inside_red_outside"]],
            on="department",
            how="left",
            suffixes=("_shared", "_local"),
        )
        table = table.assign(_org=table["department"].ne(ORGANISATION)).sort_values(["_org", "department"])
        table = pd.DataFrame(
            {
                "Department": table["department"].map(
                    lambda x: "Whole organisation" if x == ORGANISATION else names.get(x, x)
                ),
                "Shared customer score": table["composite_shared"].round(1),
                "Shared status": table["status_shared"],
                "Own (local) score": table["composite_local"].round(1),
                "Local status": table["status_local"],
                "Green inside, red outside": table["green_inside_red_outside"].map(
                    lambda x: "yes" if pd.notna(x) and bool(x) else ""
                ),
            }
        )
        caveats = []
        if self.periods and ts != max(self.periods):
            caveats.append(
                f"{max(self.periods):%Y-%m} is incomplete (its later data, such as next-month churn, is not observed "
                f"yet); the card shows {ts:%Y-%m}."
            )
        ex = (
            self.exceptions[self.exceptions["period"].eq(ts)]
            if "period" in self.exceptions
            else self.exceptions
        )
        caveats.append(
            f"{len(ex):,} exceptions in {ts:%Y-%m} (see .exceptions); scores 0 at threshold, 100 at target, 120 at stretch."
        )
        return html_card(
            f"Scorecard, {ts:%Y-%m}",
            figures=figure_rows(self.key_figures(ts)),
            table=table,
            table_title="Departments",
            caveats=caveats,
        )

    def plot(self, kind: str = "heatmap", **kwargs: Any) -> go.Figure:
        """Figure of this result: ``"heatmap"``, ``"alignment"``, ``"trend"`` (``metric=``), ``"drill_down"``."""
        from cx_framework.plots import scorecard as charts

        makers: dict[str, Callable[..., go.Figure]] = {
            "heatmap": charts.scorecard_heatmap,
            "alignment": charts.alignment_chart,
            "trend": charts.scorecard_trend_chart,
            "drill_down": charts.drill_down_chart,
        }
        if kind not in makers:
            raise InputValueError(f"kind must be one of {', '.join(makers)}, got {kind!r}", argument="kind")
        return makers[kind](self, **kwargs)
