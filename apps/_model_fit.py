"""Staffing page section: do Erlang C or Erlang A describe this centre? (staffing.calibration on the page's data)."""

from __future__ import annotations

from typing import Any

import _state as state
import _ui as ui
import pandas as pd
import streamlit as st

from cx_framework.errors import CxError
from cx_framework.staffing.calibration import MODELS


def _fit(src: state.Source) -> Any:
    """The Analysis' queue-model fit (computed once per data and config, then read from its disk cache); a
    CxError when it cannot run (e.g. no intervals), which :func:`render` shows as a message."""
    return state.analysis(src).result("queue_model_fit")


def render(src: state.Source) -> None:
    """The model-fit section: calibration table, error by hour, recommended model, estimated-staffing caveat."""
    st.subheader("Which model fits this centre? Erlang C vs Erlang A on the observed intervals")
    try:
        fit = _fit(src)
    except CxError as exc:
        st.info(f"The model fit needs call-level data: {exc}")
        return
    overall = fit.overall
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Recommended model",
        MODELS[fit.recommended],
        help="The model with the smaller sum of service-level and abandonment mean absolute errors.",
    )
    c2.metric(
        "Caller patience (mean)",
        f"{fit.patience_s['(all)']:,.0f} s",
        help="Total waiting time of all calls / abandoned calls (Mandelbaum & Zeltyn 2007).",
    )
    c3.metric(
        "Intervals compared",
        f"{int(overall.loc[fit.recommended, 'intervals']):,}",
    )
    if fit.agents_estimated:
        st.warning(
            "Agents staffed are **estimated** from the call records (distinct answering agents or handle time / "
            "interval length, whichever is larger) — a lower bound, so both models lean pessimistic. Load agent "
            "logins for a fair test.",
            icon=":material/warning:",
        )
    table = pd.DataFrame(
        {
            "Model": [MODELS[m] for m in overall.index],
            "Service level: mean abs. error (pts)": overall["sl_mae"].to_numpy() * 100,
            "Service level: bias (pts)": overall["sl_bias"].to_numpy() * 100,
            "Abandonment: mean abs. error (pts)": overall["abandonment_mae"].to_numpy() * 100,
            "Abandonment: bias (pts)": overall["abandonment_bias"].to_numpy() * 100,
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in table.columns[1:]},
    )
    st.caption(
        "Errors are offered-weighted over intervals, predicted − observed, in percentage points of offered calls. "
        "Erlang C assumes nobody hangs up, so its abandonment error is the whole observed abandonment rate."
    )
    ui.chart(state.memo(("model_fit_figure", src), fit.plot), key="st_model_fit")
