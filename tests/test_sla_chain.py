"""End-to-end SLA chains (cx_framework.conflicts.chain) against closed forms and Monte Carlo."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import trapezoid

from cx_framework.config import load_config
from cx_framework.conflicts.chain import (
    fit_stage_distributions,
    journey_chain,
    required_tightening,
    sla_chain,
)
from cx_framework.errors import DataValidationError, InputValueError, StatisticalWarning

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIGS)


@pytest.mark.parametrize("promise", [20.0, 48.0, 80.0])
def test_sum_of_gammas_with_common_scale_matches_closed_form(promise):
    # gamma(2, θ) + gamma(3, θ) + gamma(1.5, θ) = gamma(6.5, θ) for a common scale θ = 5 h
    stages = {
        "a": stats.gamma(2.0, scale=5.0),
        "b": stats.gamma(3.0, scale=5.0),
        "c": stats.gamma(1.5, scale=5.0),
    }
    r = sla_chain(stages, promise)
    exact = stats.gamma(6.5, scale=5.0)
    assert r.p_within_promise == pytest.approx(exact.cdf(promise), abs=1e-4)
    np.testing.assert_allclose(r.quantiles.to_numpy(), exact.ppf(r.quantiles.index.to_numpy()), atol=0.02)


def test_exponential_handoff_adds_one_to_the_shape():
    # gamma(2, θ) + expon(θ) + gamma(1, θ) = gamma(4, θ)
    r = sla_chain(
        {"a": stats.gamma(2.0, scale=4.0), "b": stats.gamma(1.0, scale=4.0)},
        30.0,
        handoffs={"b": stats.expon(scale=4.0)},
    )
    assert r.p_within_promise == pytest.approx(stats.gamma(4.0, scale=4.0).cdf(30.0), abs=1e-4)
    assert list(r.stages["kind"]) == ["stage", "handoff", "stage"]


def test_convolution_agrees_with_a_million_sample_monte_carlo(cfg):
    journey = cfg.slas.journey("billing_dispute")
    conv = journey_chain(journey)
    # independent Monte Carlo written here: stages + hand-offs, 1M draws
    rng = np.random.default_rng(42)
    n = 1_000_000
    total = np.zeros(n)
    for s in journey.stages:
        total += s.lead_time.frozen().rvs(size=n, random_state=rng)
        if s.handoff_wait is not None:
            total += s.handoff_wait.frozen().rvs(size=n, random_state=rng)
    p_mc = float(np.mean(total <= journey.promise.hours))
    se = np.sqrt(p_mc * (1 - p_mc) / n)
    assert abs(conv.p_within_promise - p_mc) < 5 * se  # 5 σ ≈ 0.0016
    mc = journey_chain(journey, method="monte_carlo", n_samples=n, seed=7)
    assert abs(mc.p_within_promise - conv.p_within_promise) < 5 * se
    np.testing.assert_allclose(
        mc.stages["contribution_to_miss"], conv.stages["contribution_to_miss"], atol=2e-3
    )


def test_samples_are_accepted_as_stages():
    rng = np.random.default_rng(1)
    a = stats.gamma(2.0, scale=3.0).rvs(size=200_000, random_state=rng)
    b = stats.gamma(1.0, scale=3.0).rvs(size=200_000, random_state=rng)
    r = sla_chain([a, b], 12.0, slas={"stage_1": (9.0, 0.8)})
    assert r.p_within_promise == pytest.approx(stats.gamma(3.0, scale=3.0).cdf(12.0), abs=4e-3)
    row = r.stages.set_index("component").loc["stage_1"]
    assert row["p_within_sla"] == pytest.approx(np.mean(a <= 9.0))


def test_sample_journeys_every_department_green_customer_red(cfg):
    for journey in cfg.slas.journeys:
        r = journey_chain(journey)
        stages = r.stages[r.stages["kind"] == "stage"]
        # each stage's own P(≤ SLA) from its gamma CDF, e.g. intake gamma(2, 5 h) within 24 h:
        # 1 − e^−4.8 (1 + 4.8) = 0.9523 ≥ 0.90
        for s, row in zip(journey.stages, stages.itertuples(index=False), strict=True):
            assert row.p_within_sla == pytest.approx(s.lead_time.frozen().cdf(s.sla.hours))
            assert row.p_within_sla >= s.sla.percent
        assert r.every_stage_green
        assert r.p_within_promise < journey.promise.percent
        assert r.meets_promise is False
        # contributions add up to the miss
        assert r.stages["contribution_to_miss"].sum() == pytest.approx(1 - r.p_within_promise, abs=1e-6)


def test_required_tightening_single_stage_closed_form():
    # one stage gamma(k, θ): scaling by c gives gamma(k, cθ); P(≤ p) = q ⇔ c = p / (θ · G_k⁻¹(q))
    k, theta, p, q = 3.0, 10.0, 40.0, 0.9
    r = sla_chain({"only": stats.gamma(k, scale=theta)}, p, percent=q, slas={"only": (48.0, 0.9)})
    t = required_tightening(r)
    expected = p / (theta * stats.gamma(k).ppf(q))
    assert t.loc[0, "factor"] == pytest.approx(expected, abs=1e-4)
    assert t.loc[0, "required_sla_h"] == pytest.approx(48.0 * expected, abs=1e-3)
    assert bool(t.loc[0, "binding"])


def test_required_tightening_makes_the_promise_hold(cfg):
    journey = cfg.slas.journey("order_change")
    r = journey_chain(journey)
    t = required_tightening(r)
    first = t.iloc[0]
    assert bool(first["binding"]) and first["stage"] == r.binding_stage == "provisioning"
    assert 0 < first["factor"] < 1
    # rerun with the binding stage scaled by the factor: the promise now holds exactly
    lead = {s.stage: s.lead_time.frozen() for s in journey.stages}
    s = next(s for s in journey.stages if s.stage == "provisioning")
    lead["provisioning"] = stats.gamma(s.lead_time.shape, scale=s.lead_time.scale_h * first["factor"])
    again = sla_chain(
        lead,
        journey.promise,
        handoffs={x.stage: x.handoff_wait.frozen() for x in journey.stages if x.handoff_wait is not None},
    )
    assert again.p_within_promise == pytest.approx(journey.promise.percent, abs=1e-4)
    # order capture is tiny: even an instant order capture cannot rescue the promise
    capture = t.set_index("stage").loc["order_capture"]
    assert not bool(capture["feasible"]) and np.isnan(capture["factor"])


def test_fit_stage_distributions_recovers_gamma_and_reports_ks():
    rng = np.random.default_rng(3)
    n = 3000
    hours = np.concatenate(
        [
            stats.gamma(2.5, scale=10.0).rvs(n, random_state=rng),
            stats.gamma(1.5, scale=4.0).rvs(n, random_state=rng),
        ]
    )
    entered = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 1000, 2 * n), unit="h")
    items = pd.DataFrame(
        {
            "item_id": [f"I{i}" for i in range(2 * n)],
            "stage": ["review"] * n + ["fix"] * n,
            "customer_id": "C1",
            "journey": "dispute",
            "department": ["billing"] * n + ["fulfilment"] * n,
            "entered_at": entered,
            "left_at": entered + pd.to_timedelta(hours, unit="h"),
        }
    )
    items.loc[5, "left_at"] = pd.NaT  # an open item is ignored
    fit = fit_stage_distributions(items).set_index("stage")
    review = fit.loc["review"]
    direct = stats.gamma.fit(np.delete(hours[:n], 5), floc=0)  # item 5 is open
    assert review["n"] == n - 1
    assert review["shape"] == pytest.approx(direct[0], rel=1e-3)
    assert review["scale_h"] == pytest.approx(direct[2], rel=1e-3)
    assert review["shape"] == pytest.approx(2.5, rel=0.08) and review["scale_h"] == pytest.approx(
        10.0, rel=0.08
    )
    assert review["ks_statistic"] < 0.03 and fit.loc["fix", "department"] == "fulfilment"
    # the fitted distributions feed a chain
    r = sla_chain({"review": stats.gamma(review["shape"], scale=review["scale_h"])}, 40.0)
    assert r.p_within_promise == pytest.approx(np.mean(hours[:n] <= 40.0), abs=0.02)


def test_fit_rejects_items_that_leave_before_they_enter():
    items = pd.DataFrame(
        {
            "journey": ["j", "j"],
            "stage": ["s", "s"],
            "entered_at": pd.to_datetime(["2024-01-02", "2024-01-02"]),
            "left_at": pd.to_datetime(["2024-01-03", "2024-01-01"]),
        }
    )
    with pytest.raises(DataValidationError) as err:
        fit_stage_distributions(items)
    assert "left_at" in str(err.value)
    assert list(err.value.failures["row"]) == [1]
    with pytest.raises(DataValidationError, match="entered_at"):
        fit_stage_distributions(items.drop(columns="entered_at"))


def test_bad_inputs_name_the_argument():
    g = stats.gamma(2.0, scale=5.0)
    with pytest.raises(InputValueError, match="promise") as err:
        sla_chain({"a": g}, -1.0)
    assert err.value.argument == "promise"
    with pytest.raises(InputValueError, match="nope"):
        sla_chain({"a": g}, 10.0, slas={"nope": 5.0})
    with pytest.raises(InputValueError, match="stages"):
        sla_chain({"a": np.array([1.0, -2.0])}, 10.0)
    with pytest.raises(InputValueError, match="negative support"):
        sla_chain({"a": stats.norm(5, 1)}, 10.0)
    with pytest.raises(InputValueError, match="percent"):
        required_tightening(sla_chain({"a": g}, 10.0))


def test_density_plot_and_cli(cfg, tmp_path):
    from typer.testing import CliRunner

    from cx_framework.cli import app

    r = journey_chain(cfg.slas.journey("billing_dispute"))
    d = r.density
    # the plotted density integrates to ≈ P(E2E ≤ 99.99 % quantile)
    assert trapezoid(d["density"], d["hours"]) == pytest.approx(1.0, abs=2e-3)
    fig = r.plot()
    assert any(getattr(s, "x0", None) == 168.0 for s in fig.layout.shapes)
    out = tmp_path / "chain.parquet"
    res = CliRunner().invoke(
        app, ["sla-chain", "--configs", str(CONFIGS), "--out", str(out)], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    assert "provisioning (Fulfilment & back office) must cut its lead time" in " ".join(res.output.split())
    table = pd.read_parquet(out)
    assert set(table["journey"]) == {"billing_dispute", "order_change"}
    bad = CliRunner().invoke(app, ["sla-chain", "--configs", str(CONFIGS), "--journey", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output


def test_sample_work_items_recover_the_configured_lead_times(cfg):
    path = Path(__file__).resolve().parents[1] / "data" / "sample" / "work_items.parquet"
    if not path.exists():
        pytest.skip("data/sample not generated")
    items = pd.read_parquet(path)
    has_zero = bool((items["left_at"] == items["entered_at"]).any())
    expect = (
        pytest.warns(StatisticalWarning, match="zero lead time") if has_zero else contextlib.nullcontext()
    )
    with expect:
        fit = fit_stage_distributions(items).set_index(["journey", "stage"])
    for journey in cfg.slas.journeys:
        for s in journey.stages:
            row = fit.loc[(journey.id, s.stage)]
            planted = s.lead_time.frozen()
            assert row["mean_h"] == pytest.approx(planted.mean(), rel=0.05), (journey.id, s.stage)
            assert row["shape"] == pytest.approx(s.lead_time.shape, rel=0.12), (journey.id, s.stage)
            assert row["ks_statistic"] < 0.03
    # observed end-to-end of complete billing disputes vs the chain's prediction (3 standard errors)
    journey = cfg.slas.journey("billing_dispute")
    per_item = items[items["journey"] == journey.id].groupby("item_id")
    span = per_item.agg(start=("entered_at", "min"), end=("left_at", "max"), stages=("stage", "size"))
    span = span[(span["stages"] == len(journey.stages)) & span["end"].notna()]
    observed = float(
        (((span["end"] - span["start"]).dt.total_seconds() / 3600) <= journey.promise.hours).mean()
    )
    predicted = journey_chain(journey).p_within_promise
    assert abs(observed - predicted) < 3 * np.sqrt(predicted * (1 - predicted) / len(span))


def test_journey_chain_uses_fitted_distributions(cfg):
    journey = cfg.slas.journey("order_change")
    fitted = pd.DataFrame(
        {"journey": ["order_change"], "stage": ["provisioning"], "shape": [2.0], "scale_h": [8.0]}
    )
    r = journey_chain(journey, fitted=fitted)
    lead = {s.stage: s.lead_time.frozen() for s in journey.stages}
    lead["provisioning"] = stats.gamma(2.0, scale=8.0)
    manual = sla_chain(
        lead,
        journey.promise,
        handoffs={s.stage: s.handoff_wait.frozen() for s in journey.stages if s.handoff_wait is not None},
    )
    assert r.p_within_promise == pytest.approx(manual.p_within_promise, abs=1e-12)
    row = r.stages.set_index("component").loc["provisioning"]
    assert row["mean_h"] == pytest.approx(16.0)


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.lists(st.floats(min_value=0.8, max_value=6.0), min_size=1, max_size=4),
    scale=st.floats(min_value=0.5, max_value=20.0),
    quantile=st.floats(min_value=0.05, max_value=0.95),
)
def test_common_scale_property_and_miss_decomposition(shapes, scale, quantile):
    # any set of gammas with a common scale sums to gamma(Σk, θ); contributions always add up to P(miss)
    exact = stats.gamma(sum(shapes), scale=scale)
    promise = float(exact.ppf(quantile))
    r = sla_chain([stats.gamma(k, scale=scale) for k in shapes], promise)
    assert r.p_within_promise == pytest.approx(quantile, abs=1e-4)
    assert r.stages["contribution_to_miss"].sum() == pytest.approx(1 - r.p_within_promise, abs=1e-6)
    # with a common scale X_s / S ~ Beta(k_s, Σk - k_s) is independent of S (Lukacs 1955), so
    # E[X_s · 1{S > p}] / E[S · 1{S > p}] = k_s / Σk exactly
    np.testing.assert_allclose(r.stages["share_of_miss"], np.array(shapes) / sum(shapes), atol=2e-4)


def test_cached_chain_keeps_its_distributions_by_name_and_gives_the_same_numbers(cfg):
    """A chain read back from the disk cache holds its gamma stages by name (no scipy.stats import to unpickle
    it) and every number computed from it — tightening, a Monte Carlo re-run — equals the original's."""
    import pickle
    import subprocess
    import sys

    from cx_framework.conflicts.chain import _FrozenByName

    chain = sla_chain(
        {
            "a": stats.gamma(2.0, scale=5.0),
            "b": stats.lognorm(0.6, scale=8.0),
            "c": np.array([1.0, 2.0, 4.0]),
        },
        48,
        percent=0.9,
        slas={"a": 15, "b": 12},
    )
    data = pickle.dumps(chain, protocol=5)
    back = pickle.loads(data)
    dists = [c.dist for c in back._components]
    assert isinstance(dists[0], _FrozenByName) and dists[0].name == "gamma" and dists[2] is None
    pd.testing.assert_frame_equal(required_tightening(back), required_tightening(chain))
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for original, restored in zip(chain._components, back._components, strict=True):
        np.testing.assert_array_equal(original.draw(50, rng_a), restored.draw(50, rng_b))
        assert original.upper() == restored.upper() and original.mean() == restored.mean()
    assert pickle.loads(pickle.dumps(back)).p_within_promise == chain.p_within_promise
    code = (
        "import pickle, sys; r = pickle.loads(sys.stdin.buffer.read()); "
        "print('scipy.stats' in sys.modules, round(r.p_within_promise, 12))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    assert out.stdout.decode().split() == ["False", str(round(chain.p_within_promise, 12))]
