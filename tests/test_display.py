"""Notebook display (``_repr_html_``) of the result objects: well-formed HTML, the key figures with the figure
registry's labels and formats (the same text the Analysis, app, CLI and report show), and every piece of user text
escaped."""

from __future__ import annotations

import html
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from cx_framework._display import html_card
from cx_framework.analysis import Analysis
from cx_framework.figures import FIGURES, Figure, figure_spec

HOSTILE = "<img src=x onerror=alert(1)>&'\""
_VOID = {"br", "hr", "img", "meta", "input"}


class _StrictParser(HTMLParser):
    """Every start tag is closed in order; no scripts; text collected for assertions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        assert not any(name.startswith("on") for name, _ in attrs), f"event handler attribute on <{tag}>"
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an open tag"
        opened = self.stack.pop()
        assert opened == tag, f"</{tag}> closes <{opened}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _StrictParser:
    """Parse ``markup`` strictly; returns the parser (``tags``, ``text``)."""
    assert isinstance(markup, str) and markup.startswith("<div")
    parser = _StrictParser()
    parser.feed(markup)
    parser.close()
    assert parser.stack == [], f"unclosed tags {parser.stack}"
    assert "script" not in parser.tags and "img" not in parser.tags
    return parser


def shown(markup: str) -> str:
    """The text a reader sees (entities decoded), cells separated by ``|``."""
    return "|".join(parse(markup).text)


def assert_figures_shown(markup: str, figures: list[Figure]) -> None:
    """Each figure's registry label sits in the cell before its registry-formatted value."""
    text = shown(markup)
    assert figures
    for fig in figures:
        spec = figure_spec(fig.id)
        assert fig.format == spec.format or fig.id.startswith("scorecard.metric.")
        assert f"{fig.label}|{fig.formatted()}" in text, (
            f"{fig.id}: {fig.label} = {fig.formatted()} not shown"
        )


@pytest.fixture(scope="module")
def analysis(sample_org, config):
    a = Analysis(sample_org.tables(), config)
    a.compute_all()
    return a


# ------------------------------------------------------------------------------------------------ helper
def test_html_card_escapes_every_piece_of_text():
    markup = html_card(
        HOSTILE,
        text=HOSTILE,
        figures=[(HOSTILE, HOSTILE)],
        table=pd.DataFrame({HOSTILE: [HOSTILE, 1.5]}),
        table_title=HOSTILE,
        caveats=[HOSTILE],
    )
    assert "<img" not in markup
    assert markup.count(html.escape(HOSTILE)) == 8  # title, text, label, value, header, cell, caption, caveat
    assert shown(markup).count(HOSTILE) == 8


def test_html_card_says_how_many_rows_were_left_out():
    text = shown(html_card("t", table=pd.DataFrame({"x": range(30)}), max_rows=10))
    assert "… 20 more rows (of 30)" in text
    assert "|9|" in text and "|10|" not in text


# ------------------------------------------------------------------------------------------------ results
def test_figure_card(analysis):
    fig = analysis.figure("staffing.realised_service_level")
    text = shown(fig._repr_html_())
    for part in (fig.label, fig.formatted(), fig.definition, fig.id, fig.period):
        assert part in text


def test_scorecard_card_shows_the_sections_figures(analysis):
    markup = analysis.result("scorecard")._repr_html_()
    assert_figures_shown(markup, analysis.section("scorecard").figures)
    text = shown(markup)
    period = analysis.figure("scorecard.customer_composite").period
    assert f"Scorecard, {period}" in text
    # departments by their human names, every department of the organisation listed
    for dep in analysis.config.organisation.departments:
        assert dep.name in text


def test_scheme_comparison_card(analysis):
    markup = analysis.result("payouts")._repr_html_()
    assert_figures_shown(markup, analysis.section("payouts").figures)


def test_failure_demand_card(analysis):
    result = analysis.result("failure_demand")
    names = {d.id: d.name for d in analysis.config.organisation.departments}
    assert_figures_shown(result._repr_html_(), result.key_figures(names)[:2])
    assert analysis.section("failure_demand").figures == result.key_figures(names)
    top = str(result.by_department["originating_department"].iloc[0])
    assert f"Largest source of failure demand|{top}" in shown(result._repr_html_())


def test_actions_card(analysis):
    plan = analysis.result("actions")
    markup = plan._repr_html_()
    assert_figures_shown(markup, analysis.section("actions").figures)
    text = shown(markup)
    first = plan.actions.iloc[0]
    assert f"|1|{first['title']}|{first['owner_department']}|" in text


def test_retention_cards(analysis):
    section = analysis.result("retention")
    fit_text = shown(section.fit._repr_html_())
    churn = analysis.figure("retention.churn_change_per_point")
    assert f"{churn.label}|{churn.formatted()}" in fit_text
    assert f"{section.fit.nobs:,} / {section.fit.n_events:,}" in fit_text
    assert "service_level" in fit_text  # the coefficient table
    optimum = analysis.section("retention").figures[1:]
    markup = section.optimum._repr_html_()
    assert_figures_shown(markup, optimum)
    assert section.optimum.key_figures(period=optimum[0].period) == optimum
    # the optimum's row is in the value table
    assert f"|{section.optimum.optimum:.4g}|" in shown(markup)


def test_staffing_budget_gap_card(analysis):
    gap = analysis.result("staffing").budget_gap
    by_id = {f.id: f for f in analysis.section("staffing").figures}
    text = shown(gap._repr_html_())
    for fid in (
        "staffing.funded_fte",
        "staffing.fte_needed",
        "staffing.fte_gap",
        "staffing.budget_service_level",
    ):
        fig = by_id[fid]
        assert f"{fig.label}|{fig.formatted()}" in text
    assert gap.model in text


def test_sla_chain_card(analysis):
    journey = analysis.config.slas.journeys[0]
    chain = analysis.result("sla_chain")["chains"][journey.id]
    fig = analysis.figure(f"sla_chain.p_within_promise.{journey.id}")
    text = shown(chain._repr_html_())
    assert f"|{fig.formatted()}|" in text  # the registry's format of the same probability
    assert chain.binding_stage in text
    for component in chain.stages["component"]:
        assert component in text


def test_behaviour_card(analysis):
    sid, result = next(iter(analysis.result("behaviour").items()))
    fig = analysis.figure(f"behaviour.customer_kpi_index.{sid}")
    text = shown(result._repr_html_())
    assert f"|{fig.formatted()}|" in text
    assert FIGURES["behaviour.customer_kpi_index.{scheme}"].label.format(scheme_name=sid) in text


def test_queue_model_fit_card(sample_org):
    from cx_framework.staffing import fit_queue_models

    fit = fit_queue_models(sample_org.intervals.head(2000), contacts=sample_org.contacts)
    text = shown(fit._repr_html_())
    assert "Recommended model|Erlang" in text
    assert f"{fit.overall.loc['erlang_c', 'sl_mae'] * 100:.2f}" in text.replace("|", " ")


def test_erlang_a_card():
    from cx_framework.staffing import erlang_a

    result = erlang_a(calls=300, aht_s=300, agents=55, patience_s=120)
    text = shown(result._repr_html_())
    assert f"Service level|{float(result.service_level) * 100:.1f}%" in text
    assert f"Average speed of answer|{float(result.asa):,.0f} s" in text
    many = erlang_a(calls=np.array([100.0, 300.0]), aht_s=300, agents=55, patience_s=120)
    assert "(mean of 2)" in shown(many._repr_html_())


@pytest.mark.filterwarnings("ignore::cx_framework.errors.StatisticalWarning")
def test_graph_evidence_card(sample_org, config):
    from cx_framework.conflicts.evidence import estimate_graph

    evidence = estimate_graph(sample_org.department_metrics, config, candidates=False)
    text = shown(evidence._repr_html_())
    assert f"Edges tested|{len(evidence.edges):,}" in text
    for verdict, count in evidence.verdict_counts.items():
        assert f"Edges {verdict}|{count:,}" in text
    assert evidence.assumption in text


def test_analysis_card_shows_only_what_is_computed(sample_org, config, analysis):
    fresh = Analysis(sample_org.tables(), config)
    text = shown(fresh._repr_html_())
    assert "No section computed yet" in text
    assert fresh._sections == {}  # displaying computed nothing
    markup = analysis._repr_html_()
    assert_figures_shown(markup, analysis.figures())
    assert "Reporting month|" in shown(markup)


# ------------------------------------------------------------------------------------------------ hostile text
def test_hostile_names_are_escaped(analysis):
    plan = analysis.result("actions")
    fd = analysis.result("failure_demand")
    comparison = analysis.result("payouts")
    hostile_plan = replace(plan, actions=plan.actions.assign(title=HOSTILE, owner_department=HOSTILE))
    hostile_fd = replace(fd, by_department=fd.by_department.assign(originating_department=HOSTILE))
    hostile_cmp = replace(comparison, names={sid: HOSTILE for sid in comparison.names})
    hostile_fig = replace(analysis.figures()[0], label=HOSTILE, definition=HOSTILE)
    for obj in (hostile_plan, hostile_fd, hostile_cmp, hostile_fig):
        markup = obj._repr_html_()
        assert "<img" not in markup
        assert HOSTILE in shown(markup)
