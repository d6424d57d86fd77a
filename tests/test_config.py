"""Tests of the configuration layer: the bundled configs round-trip, and every bad input gets a ConfigError
that names the file, the key path and (where YAML gives it) the line.

Line numbers are checked against an independent reference: the 1-based line on which the mutated text appears
in the file written by the test (``_line_of``), not the loader's own node tree.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cx_framework import ConfigError, load_config, load_scheme
from cx_framework.config import FILES, CxConfig, Scheme, parse_duration

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SCHEME_FILES = sorted((CONFIGS / "incentives").glob("*.yaml"))


# ----------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def config() -> CxConfig:
    return load_config(CONFIGS)


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    return target


def _edit(cfg_dir: Path, name: str, old: str, new: str) -> Path:
    """Replace the first ``old`` with ``new`` in ``cfg_dir/name``; fail loudly if ``old`` is not there."""
    path = cfg_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not found in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle`` (the reference for reported line numbers)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def _expect(
    cfg_dir: Path,
    file: str,
    *,
    key: str | None,
    line: int | None,
    match: str,
) -> ConfigError:
    """load_config(cfg_dir) must raise ConfigError naming ``file``, ``key`` and ``line``, matching ``match``."""
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir)
    err = info.value
    msg = str(err)
    assert err.file == str(cfg_dir / file)
    assert msg.startswith(str(cfg_dir / file))
    assert err.key == key
    if key is not None:
        assert f"key '{key}'" in msg
    assert err.line == line
    if line is not None:
        assert f"line {line}" in msg
    assert re.search(match, msg), msg
    return err


# ----------------------------------------------------------------------------------------------- round trip
def test_bundled_configs_load(config: CxConfig) -> None:
    assert len(config.metrics.metrics) == 25
    assert sorted(config.schemes) == ["balanced", "sales_retention", "shared_customer", "siloed"]
    assert config.organisation.department_ids == [
        "contact_centre",
        "billing",
        "fulfilment",
        "sales",
        "marketing",
    ]
    assert len(config.causal_graph.edges) >= 15
    assert [j.id for j in config.slas.journeys] == ["billing_dispute", "order_change"]
    # 7d promise = 168 h; 8h stage SLA
    assert config.slas.journey("billing_dispute").promise.hours == 168.0
    assert config.slas.journey("order_change").stages[0].sla.hours == 8.0


def test_every_metric_has_a_definition_and_known_owner(config: CxConfig) -> None:
    departments = set(config.organisation.department_ids)
    for metric in config.metrics.metrics:
        assert len(metric.definition.split()) >= 5, metric.id
        assert metric.owner in departments


@pytest.mark.parametrize("scheme_id", ["balanced", "shared_customer", "siloed"])
def test_scheme_weights_sum_to_one(config: CxConfig, scheme_id: str) -> None:
    weights = [c.weight for c in config.schemes[scheme_id].components]
    assert math.fsum(weights) == pytest.approx(1.0, abs=1e-12)


def test_scorecard_weights_sum_to_one(config: CxConfig) -> None:
    assert math.fsum(o.weight for o in config.scorecard.shared) == pytest.approx(1.0, abs=1e-12)
    for dept, objectives in config.scorecard.local.items():
        assert math.fsum(o.weight for o in objectives) == pytest.approx(1.0, abs=1e-12), dept


@pytest.mark.parametrize("path", SCHEME_FILES, ids=lambda p: p.stem)
def test_load_scheme_matches_load_config(config: CxConfig, path: Path) -> None:
    scheme = load_scheme(path)
    assert scheme.id == path.stem
    assert scheme == config.schemes[scheme.id]


def test_load_scheme_values() -> None:
    siloed = load_scheme(CONFIGS / "incentives" / "siloed.yaml")
    assert [c.metric for c in siloed.components] == ["aht_s", "product_sales", "own_sla_met"]
    assert siloed.components[1].payout_at_stretch == 2.0
    assert siloed.periods_per_year == 12
    assert siloed.gates == []
    balanced = load_scheme(str(CONFIGS / "incentives" / "balanced.yaml"))
    assert (balanced.gates[0].metric, balanced.gates[0].min, balanced.gates[0].max) == (
        "quality_score",
        70,
        None,
    )
    assert balanced.cap_pct == 175


@pytest.mark.parametrize("name", [*FILES, "schemes"])
@pytest.mark.parametrize("mode", ["python", "json"])
def test_model_dump_validate_round_trip(config: CxConfig, name: str, mode: str) -> None:
    models = list(config.schemes.values()) if name == "schemes" else [getattr(config, name)]
    for model in models:
        dumped = model.model_dump(mode=mode, by_alias=True)
        assert type(model).model_validate(dumped) == model
        # by field name too (Edge has populate_by_name) for python mode
        if mode == "python":
            assert type(model).model_validate(model.model_dump()) == model


def test_dumped_yaml_directory_loads_to_equal_config(config: CxConfig, tmp_path: Path) -> None:
    """Write every model back as YAML (JSON mode: durations become ISO 8601 'P7D') and load the set again."""
    out = tmp_path / "dumped"
    (out / "incentives").mkdir(parents=True)
    for name in FILES:
        data = getattr(config, name).model_dump(mode="json", by_alias=True)
        (out / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    for scheme_id, scheme in config.schemes.items():
        data = scheme.model_dump(mode="json", by_alias=True)
        (out / "incentives" / f"{scheme_id}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    again = load_config(out)
    for name in [*FILES, "schemes"]:
        assert getattr(again, name) == getattr(config, name), name


def test_models_are_frozen(config: CxConfig) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        config.schemes["siloed"].cap_pct = 1.0  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------- missing input
def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config directory not found") as info:
        load_config(tmp_path / "nope")
    assert info.value.file == str(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)


@pytest.mark.parametrize("name", list(FILES))
def test_missing_file(cfg_dir: Path, name: str) -> None:
    (cfg_dir / f"{name}.yaml").unlink()
    _expect(cfg_dir, f"{name}.yaml", key=None, line=None, match="file not found")


def test_load_scheme_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as info:
        load_scheme(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")


def test_directory_where_file_expected(cfg_dir: Path) -> None:
    (cfg_dir / "economics.yaml").unlink()
    (cfg_dir / "economics.yaml").mkdir()
    _expect(cfg_dir, "economics.yaml", key=None, line=None, match="found a directory")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(cfg_dir: Path, text: str) -> None:
    (cfg_dir / "metrics.yaml").write_text(text, encoding="utf-8")
    _expect(cfg_dir, "metrics.yaml", key=None, line=None, match="file is empty")


def test_empty_scheme_file(cfg_dir: Path) -> None:
    (cfg_dir / "incentives" / "siloed.yaml").write_text("", encoding="utf-8")
    _expect(cfg_dir, "incentives/siloed.yaml", key=None, line=None, match="file is empty")


def test_top_level_list_is_refused(cfg_dir: Path) -> None:
    (cfg_dir / "economics.yaml").write_text("# header\n- 1\n- 2\n", encoding="utf-8")
    _expect(cfg_dir, "economics.yaml", key=None, line=2, match="expected a mapping.*found list")


def test_not_utf8(cfg_dir: Path) -> None:
    (cfg_dir / "organisation.yaml").write_bytes("name: Caf\u00e9\n".encode("latin-1"))
    _expect(cfg_dir, "organisation.yaml", key=None, line=1, match="not UTF-8")


# ----------------------------------------------------------------------------------------------- YAML syntax
def test_yaml_syntax_error_reports_line(cfg_dir: Path) -> None:
    # "a: b: c" is illegal in block YAML ("mapping values are not allowed here")
    path = _edit(cfg_dir, "metrics.yaml", "name: Average speed of answer", "name: Average: speed of answer")
    _expect(
        cfg_dir,
        "metrics.yaml",
        key=None,
        line=_line_of(path, "Average: speed"),
        match="YAML syntax error: mapping values are not allowed here",
    )


def test_yaml_syntax_error_in_scheme_reports_line(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "incentives/balanced.yaml", "cap_pct: 175", "cap_pct: 175\n  bad_indent: 1")
    line = _line_of(path, "bad_indent")
    with pytest.raises(ConfigError, match="YAML syntax error") as info:
        load_scheme(path)
    assert info.value.line == line
    assert f"{path}, line {line}" in str(info.value)


def test_repeated_yaml_key_is_an_error(cfg_dir: Path) -> None:
    # plain PyYAML would silently keep the last value (0.40), hiding the mistake
    path = _edit(cfg_dir, "economics.yaml", "margin: 0.35", "margin: 0.35\nmargin: 0.40")
    _expect(
        cfg_dir,
        "economics.yaml",
        key="margin",
        line=_line_of(path, "margin: 0.40"),
        match=rf"appears twice.*first on line {_line_of(path, 'margin: 0.35')}",
    )


def test_repeated_key_inside_flow_mapping(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "incentives/siloed.yaml", "weight: 0.30,", "weight: 0.30, weight: 0.31,")
    _expect(
        cfg_dir,
        "incentives/siloed.yaml",
        key="components[2].weight",
        line=_line_of(path, "weight: 0.31"),
        match="appears twice",
    )


# ----------------------------------------------------------------------------------------------- unsafe tags
@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system",
        "!!python/object/apply:subprocess.check_call",
        "!!python/name:os.system",
    ],
)
def test_python_tags_refused_and_nothing_executed(cfg_dir: Path, tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    payload = f"{tag} [['touch', '{marker}']]" if "subprocess" in tag else f"{tag} ['touch {marker}']"
    if tag.startswith("!!python/name"):
        payload = f"{tag} ''"
    path = _edit(cfg_dir, "incentives/balanced.yaml", "cap_pct: 175", f"cap_pct: {payload}")
    err = _expect(
        cfg_dir,
        "incentives/balanced.yaml",
        key=None,
        line=_line_of(path, "cap_pct:"),
        match=r"unsupported YAML tag",
    )
    assert "python" in str(err)
    assert not marker.exists()
    with pytest.raises(ConfigError, match="unsupported YAML tag"):
        load_scheme(path)
    assert not marker.exists()


def test_python_object_tag_in_metrics(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "metrics.yaml", "unit: seconds", "unit: !!python/object:collections.OrderedDict {}")
    _expect(
        cfg_dir, "metrics.yaml", key=None, line=_line_of(path, "OrderedDict"), match="unsupported YAML tag"
    )


# ----------------------------------------------------------------------------------------------- unknown keys
_OBJECTIVE_KEYS = ["metric", "threshold", "target", "stretch", "weight"]
_TYPO_CASES = [
    # file, old, new, key path, keys the message must list
    (
        "organisation.yaml",
        "    kind: front_office\n    teams: [cc_north",
        "    knd: front_office\n    teams: [cc_north",
        "departments[0].knd",
        ["id", "name", "kind", "teams", "roles"],
    ),
    (
        "metrics.yaml",
        "    direction: lower_is_better\n    level: department\n    owner: contact_centre\n    aggregation: volume",
        "    directon: lower_is_better\n    level: department\n    owner: contact_centre\n    aggregation: volume",
        "metrics[1].directon",
        [
            "id",
            "name",
            "unit",
            "direction",
            "level",
            "owner",
            "aggregation",
            "customer_centric",
            "definition",
        ],
    ),
    (
        "scorecard.yaml",
        "stretch: 0.90,  weight: 0.15}",
        "stretch: 0.90,  wieght: 0.15}",
        "shared[2].wieght",
        _OBJECTIVE_KEYS,
    ),
    (
        "scorecard.yaml",
        "contributes_to: [service_level]",
        "contribute_to: [service_level]",
        "local.contact_centre[1].contribute_to",
        [*_OBJECTIVE_KEYS, "contributes_to"],
    ),
    (
        "causal_graph.yaml",
        "{from: aht_s, to: cost_per_contact, elasticity: 0.8",
        "{from: aht_s, to: cost_per_contact, elasticty: 0.8",
        "edges[1].elasticty",
        ["from", "to", "elasticity", "lag_periods", "note"],
    ),
    (
        "slas.yaml",
        "promise: {within: 4d, percent: 0.90}",
        "promise: {within: 4d, percnt: 0.90}",
        "journeys[1].promise.percnt",
        ["within", "percent"],
    ),
    (
        "slas.yaml",
        "lead_time: {distribution: gamma, shape: 3.0",
        "lead_time: {distribution: gamma, shap: 3.0",
        "journeys[0].stages[1].lead_time.shap",
        ["distribution", "shape", "scale_h", "sigma", "median_h", "mean_h"],
    ),
    (
        "economics.yaml",
        "shrinkage: 0.32",
        "shrinkge: 0.32",
        "shrinkge",
        ["cost_per_agent_hour", "shrinkage", "hours_per_fte_week", "customer_lifetime_months", "margin"],
    ),
    (
        "failure_demand.yaml",
        "repeat_window_days: 7",
        "repeat_windw_days: 7",
        "repeat_windw_days",
        ["repeat_window_days", "reasons"],
    ),
    (
        "failure_demand.yaml",
        "{id: bill_query,           is_failure: true",
        "{id: bill_query,           is_failur: true",
        "reasons[5].is_failur",
        ["id", "description", "is_failure", "originating_department"],
    ),
    (
        "incentives/siloed.yaml",
        "cap_pct: 200",
        "cap_percent: 200",
        "cap_percent",
        ["id", "name", "roles", "target_bonus_pct", "period", "components", "gates", "cap_pct"],
    ),
    (
        "incentives/balanced.yaml",
        "{metric: quality_score, min: 70}",
        "{metric: quality_score, minimum: 70}",
        "gates[0].minimum",
        ["metric", "min", "max"],
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "key", "allowed"), _TYPO_CASES, ids=lambda v: str(v)[:30])
def test_unknown_key_lists_allowed_keys(
    cfg_dir: Path, file: str, old: str, new: str, key: str, allowed: list[str]
) -> None:
    path = _edit(cfg_dir, file, old, new)
    typo = key.rsplit(".", 1)[-1]
    err = _expect(
        cfg_dir,
        file,
        key=key,
        line=_line_of(path, f"{typo}:"),
        match=rf"unknown key '{re.escape(typo)}' \(typo\?\)",
    )
    listed = str(err).split("allowed keys here:", 1)[1]
    for name in allowed:
        assert re.search(rf"\b{name}\b", listed), name


def test_unknown_key_suggests_the_closest(cfg_dir: Path) -> None:
    # the typo is reported (not the resulting "missing weight"), with a suggestion
    path = _edit(cfg_dir, "incentives/siloed.yaml", "weight: 0.30", "weigth: 0.30")
    _expect(
        cfg_dir,
        "incentives/siloed.yaml",
        key="components[2].weigth",
        line=_line_of(path, "weigth"),
        match=r"unknown key 'weigth'.*did you mean 'weight'\?.*\(and 1 more problem",
    )


# ----------------------------------------------------------------------------------------------- wrong types
@pytest.mark.parametrize(
    ("file", "old", "new", "key", "needle", "match"),
    [
        (
            "incentives/siloed.yaml",
            "weight: 0.30",
            'weight: "heavy"',
            "components[2].weight",
            "heavy",
            "valid number",
        ),
        (
            "scorecard.yaml",
            "threshold: 0.65,",
            "threshold: high,",
            "shared[1].threshold",
            "high",
            "valid number",
        ),
        (
            "metrics.yaml",
            "customer_centric: true",
            "customer_centric: maybe",
            "metrics[0].customer_centric",
            "maybe",
            "valid boolean",
        ),
        (
            "organisation.yaml",
            "teams: [billing_ops, billing_disputes]",
            "teams: billing_ops",
            "departments[1].teams",
            "teams: billing_ops",
            "valid list",
        ),
        (
            "organisation.yaml",
            "kind: support",
            "kind: outsourced",
            "departments[4].kind",
            "outsourced",
            "front_office",
        ),
        ("economics.yaml", "shrinkage: 0.32", "shrinkage: 1.32", "shrinkage", "1.32", "less than 1"),
        (
            "economics.yaml",
            "cost_per_contact: {phone",
            "cost_per_contact: {fax: 2.0, phone",
            "cost_per_contact.fax",
            "fax",
            "'phone', 'email' or 'chat'",
        ),
        (
            "causal_graph.yaml",
            "elasticity: -1.2,",
            "elasticity: -1.2, lag_periods: 1.5,",
            "edges[2].lag_periods",
            "lag_periods",
            "valid integer",
        ),
        (
            "incentives/siloed.yaml",
            "period: month",
            "period: week",
            "period",
            "period: week",
            "'month' or 'quarter'",
        ),
        (
            "incentives/siloed.yaml",
            "stretch: 300,  payout_at_threshold: 0.5",
            "stretch: 300,  payout_at_threshold: 1.2",
            "components[0].payout_at_threshold",
            "1.2",
            "less than or equal to 1",
        ),
        ("metrics.yaml", "  - id: asa_s", "  - id: ASA-s", "metrics[1].id", "ASA-s", "pattern"),
    ],
    ids=lambda v: str(v)[:25],
)
def test_wrong_type(cfg_dir: Path, file: str, old: str, new: str, key: str, needle: str, match: str) -> None:
    path = _edit(cfg_dir, file, old, new)
    _expect(cfg_dir, file, key=key, line=_line_of(path, needle), match=match)


# ----------------------------------------------------------------------------------------------- weights
def test_scheme_weights_not_summing(cfg_dir: Path) -> None:
    # 0.35 + 0.35 + 0.20 = 0.90
    path = _edit(cfg_dir, "incentives/siloed.yaml", "weight: 0.30", "weight: 0.20")
    _expect(
        cfg_dir,
        "incentives/siloed.yaml",
        key="components",
        line=_line_of(path, "components:"),
        match=r"weights sum to 0\.9, not 1 \(0\.35 \+ 0\.35 \+ 0\.2\)",
    )


def test_scorecard_shared_weights_not_summing(cfg_dir: Path) -> None:
    # 0.20 + 0.20 + 0.15 + 0.15 + 0.15 + 0.10 + 0.10 = 1.05
    path = _edit(cfg_dir, "scorecard.yaml", "weight: 0.05}", "weight: 0.10}")
    _expect(
        cfg_dir, "scorecard.yaml", key="shared", line=_line_of(path, "shared:"), match=r"sum to 1\.05, not 1"
    )


def test_scorecard_local_weights_not_summing(cfg_dir: Path) -> None:
    # billing: 0.40 + 0.20 + 0.30 = 0.90
    path = _edit(
        cfg_dir, "scorecard.yaml", "weight: 0.50, contributes_to: [e2e", "weight: 0.40, contributes_to: [e2e"
    )
    _expect(
        cfg_dir,
        "scorecard.yaml",
        key="local.billing",
        line=_line_of(path, "  billing:"),
        match=r"sum to 0\.9, not 1 \(0\.4 \+ 0\.2 \+ 0\.3\)",
    )


def test_weights_within_tolerance_accepted(cfg_dir: Path) -> None:
    # 0.35 + 0.35 + 0.3000004 = 1.0000004, inside WEIGHT_TOLERANCE = 1e-6
    _edit(cfg_dir, "incentives/siloed.yaml", "weight: 0.30", "weight: 0.3000004")
    assert load_config(cfg_dir).schemes["siloed"].components[2].weight == 0.3000004


# ----------------------------------------------------------------------------------------------- order
@pytest.mark.parametrize(
    ("file", "old", "new", "key", "needle", "match"),
    [
        # fcr is higher-is-better: threshold 0.80 > target 0.75
        (
            "scorecard.yaml",
            "{metric: fcr,             threshold: 0.65",
            "{metric: fcr,             threshold: 0.80",
            "shared[1].threshold",
            "metric: fcr",
            r"'fcr' is higher-is-better.*threshold < target <= stretch.*got 0\.8, 0\.75, 0\.85",
        ),
        # churn_rate is lower-is-better: threshold 0.010 < target 0.012
        (
            "scorecard.yaml",
            "{metric: churn_rate,      threshold: 0.016",
            "{metric: churn_rate,      threshold: 0.010",
            "shared[0].threshold",
            "metric: churn_rate",
            r"'churn_rate' is lower-is-better.*threshold > target >= stretch",
        ),
        # local, lower-is-better: aht stretch 400 above target 360
        (
            "scorecard.yaml",
            "target: 360,  stretch: 300",
            "target: 360,  stretch: 400",
            "local.contact_centre[0].threshold",
            "metric: aht_s",
            "'aht_s' is lower-is-better",
        ),
        # scheme, higher-is-better: stretch below target
        (
            "incentives/balanced.yaml",
            "target: 0.80, stretch: 0.90",
            "target: 0.80, stretch: 0.78",
            "components[1].threshold",
            "metric: csat",
            "'csat' is higher-is-better",
        ),
        # scheme, lower-is-better written as if higher were better
        (
            "incentives/siloed.yaml",
            "threshold: 420,  target: 360,  stretch: 300",
            "threshold: 300,  target: 360,  stretch: 420",
            "components[0].threshold",
            "metric: aht_s",
            "'aht_s' is lower-is-better",
        ),
        # threshold equal to target is not a usable curve
        (
            "incentives/shared_customer.yaml",
            "threshold: 0.016, target: 0.012",
            "threshold: 0.012, target: 0.012",
            "components[2].threshold",
            "metric: churn_rate",
            "'churn_rate' is lower-is-better",
        ),
        (
            "slas.yaml",
            "threshold: 0.70, target: 0.80",
            "threshold: 0.90, target: 0.80",
            "contact_centre.threshold",
            "contact_centre:",
            "'service_level' is higher-is-better",
        ),
    ],
    ids=lambda v: str(v)[:25],
)
def test_threshold_target_stretch_order(
    cfg_dir: Path, file: str, old: str, new: str, key: str, needle: str, match: str
) -> None:
    path = _edit(cfg_dir, file, old, new)
    _expect(cfg_dir, file, key=key, line=_line_of(path, needle), match=match)


def test_stretch_equal_to_target_is_allowed(cfg_dir: Path) -> None:
    _edit(cfg_dir, "incentives/balanced.yaml", "target: 0.80, stretch: 0.90", "target: 0.80, stretch: 0.80")
    assert load_config(cfg_dir).schemes["balanced"].components[1].stretch == 0.80


# ----------------------------------------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    ("file", "old", "new", "key", "needle", "match"),
    [
        # service_level is a 0-1 share: a target of 80 is the percent-vs-share slip
        (
            "scorecard.yaml",
            "{metric: service_level,   threshold: 0.70,  target: 0.80,  stretch: 0.90",
            "{metric: service_level,   threshold: 70,  target: 80,  stretch: 90",
            "shared[3].threshold",
            "threshold: 70,",
            r"threshold 70 is outside the range of 'service_level' \[0, 1\] \(unit: share\).*not percent",
        ),
        (
            "scorecard.yaml",
            "{metric: own_sla_met,   threshold: 0.80, target: 0.90, stretch: 0.95, weight: 0.50",
            "{metric: own_sla_met,   threshold: 0.80, target: 0.90, stretch: 1.05, weight: 0.50",
            "local.billing[0].stretch",
            "stretch: 1.05",
            r"stretch 1\.05 is outside the range of 'own_sla_met' \[0, 1\]",
        ),
        (
            "incentives/shared_customer.yaml",
            "threshold: 0.65,  target: 0.75,  stretch: 0.85",
            "threshold: 65,  target: 75,  stretch: 85",
            "components[0].threshold",
            "threshold: 65",
            "outside the range of 'fcr'",
        ),
        # aht_s has only a lower bound (30 s)
        (
            "incentives/siloed.yaml",
            "threshold: 420,  target: 360,  stretch: 300",
            "threshold: 420,  target: 360,  stretch: 20",
            "components[0].stretch",
            "stretch: 20,",
            r"stretch 20 is outside the range of 'aht_s' \[30, inf\]",
        ),
        (
            "incentives/balanced.yaml",
            "{metric: quality_score, min: 70}",
            "{metric: quality_score, min: 700}",
            "gates[0].min",
            "min: 700",
            r"min 700 is outside the range of 'quality_score' \[0, 100\]",
        ),
        (
            "slas.yaml",
            "target: 0.80, stretch: 0.90, weight: 1.0}",
            "target: 0.80, stretch: 90, weight: 1.0}",
            "contact_centre.stretch",
            "stretch: 90",
            "outside the range of 'service_level'",
        ),
    ],
    ids=lambda v: str(v)[:25],
)
def test_values_outside_metric_range(
    cfg_dir: Path, file: str, old: str, new: str, key: str, needle: str, match: str
) -> None:
    path = _edit(cfg_dir, file, old, new)
    _expect(cfg_dir, file, key=key, line=_line_of(path, needle), match=match)


def test_metric_bounds_must_be_ordered(cfg_dir: Path) -> None:
    path = _edit(
        cfg_dir,
        "metrics.yaml",
        "    lower_bound: -100\n    upper_bound: 100",
        "    lower_bound: 100\n    upper_bound: -100",
    )
    _expect(
        cfg_dir,
        "metrics.yaml",
        key="metrics[7].upper_bound",
        line=_line_of(path, "upper_bound: -100"),
        match="lower_bound 100 must be below upper_bound -100",
    )


# ----------------------------------------------------------------------------------------------- references
_UNKNOWN_METRIC = [
    (
        "scorecard.yaml",
        "{metric: csat,            threshold",
        "{metric: csatt,            threshold",
        "shared[2].metric",
    ),
    (
        "scorecard.yaml",
        "{metric: cost_per_contact,",
        "{metric: cost_per_contactt,",
        "local.contact_centre[2].metric",
    ),
    (
        "causal_graph.yaml",
        "{from: fcr, to: repeat_contact_rate",
        "{from: fcrr, to: repeat_contact_rate",
        "edges[2].from",
    ),
    ("causal_graph.yaml", "to: nps, elasticity", "to: npss, elasticity", "edges[17].to"),
    ("slas.yaml", "{metric: service_level,", "{metric: service_levell,", "contact_centre.metric"),
    ("incentives/siloed.yaml", "{metric: own_sla_met,", "{metric: own_sla_mett,", "components[2].metric"),
    (
        "incentives/balanced.yaml",
        "{metric: quality_score, min",
        "{metric: quality_scor, min",
        "gates[0].metric",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "key"), _UNKNOWN_METRIC, ids=lambda v: str(v)[:25])
def test_unknown_metric(cfg_dir: Path, file: str, old: str, new: str, key: str) -> None:
    path = _edit(cfg_dir, file, old, new)
    bad = re.search(r"(?:metric|from|to): (\w+)", new).group(1)  # type: ignore[union-attr]
    err = _expect(cfg_dir, file, key=key, line=_line_of(path, bad), match=rf"unknown metric '{bad}'")
    assert "add it to metrics.yaml or use one of" in str(err)
    # the full, sorted catalogue is listed so the user can pick the right id
    assert "abandon_rate, agent_attrition, aht_s, asa_s, avg_sales_price" in str(err)


_UNKNOWN_DEPARTMENT = [
    ("metrics.yaml", "    owner: marketing\n", "    owner: marketting\n", "metrics[7].owner", "marketting"),
    ("scorecard.yaml", "  sales:\n", "  saless:\n", "local.saless", "saless"),
    (
        "slas.yaml",
        "department: fulfilment",
        "department: fullfilment",
        "journeys[1].stages[1].department",
        "fullfilment",
    ),
    (
        "failure_demand.yaml",
        "originating_department: marketing,",
        "originating_department: mktg,",
        "reasons[10].originating_department",
        "mktg",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "key", "bad"), _UNKNOWN_DEPARTMENT, ids=lambda v: str(v)[:25])
def test_unknown_department(cfg_dir: Path, file: str, old: str, new: str, key: str, bad: str) -> None:
    path = _edit(cfg_dir, file, old, new)
    _expect(
        cfg_dir,
        file,
        key=key,
        line=_line_of(path, bad),
        match=rf"unknown department '{bad}'; departments in organisation.yaml: billing, contact_centre, "
        "fulfilment, marketing, sales",
    )


def test_contributes_to_must_be_shared(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "scorecard.yaml", "contributes_to: [fcr, csat]", "contributes_to: [fcr, aht_s]")
    _expect(
        cfg_dir,
        "scorecard.yaml",
        key="local.contact_centre[3].contributes_to[1]",
        line=_line_of(path, "[fcr, aht_s]"),
        match="'aht_s' is not a shared objective",
    )


def test_unknown_role_in_scheme(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "incentives/siloed.yaml", "roles: [agent, billing", "roles: [agnet, billing")
    _expect(
        cfg_dir,
        "incentives/siloed.yaml",
        key="roles[0]",
        line=_line_of(path, "agnet"),
        match="unknown role 'agnet'; roles in organisation.yaml: agent, billing_specialist",
    )


# ----------------------------------------------------------------------------------------------- duplicates
@pytest.mark.parametrize(
    ("file", "old", "new", "key", "needle", "match"),
    [
        (
            "metrics.yaml",
            "  - id: abandon_rate",
            "  - id: asa_s",
            "metrics[2].id",
            None,
            r"duplicate id 'asa_s' \(already used at metrics\[1\]\)",
        ),
        (
            "organisation.yaml",
            "  - id: sales",
            "  - id: billing",
            "departments[3].id",
            None,
            r"duplicate id 'billing' \(already used at departments\[1\]\)",
        ),
        (
            "organisation.yaml",
            "teams: [product, campaigns]",
            "teams: [product, orders]",
            "departments[4].teams[1]",
            "[product, orders]",
            "duplicate team 'orders' \\(also in department 'fulfilment'\\)",
        ),
        (
            "failure_demand.yaml",
            "{id: order_chase,",
            "{id: billing_error,",
            "reasons[7].id",
            "{id: billing_error,          is_failure: true,  originating_department: fulfilment",
            r"duplicate id 'billing_error' \(already used at reasons\[6\]\)",
        ),
        (
            "slas.yaml",
            "  - id: order_change",
            "  - id: billing_dispute",
            "journeys[1].id",
            None,
            r"duplicate id 'billing_dispute' \(already used at journeys\[0\]\)",
        ),
        (
            "slas.yaml",
            "stage: activation",
            "stage: provisioning",
            "journeys[1].stages[2].stage",
            "stage: provisioning\n        department: fulfilment\n        sla: {within: 2d",
            "duplicate stage 'provisioning'",
        ),
        (
            "scorecard.yaml",
            "{metric: csat,            threshold",
            "{metric: fcr,            threshold",
            "shared[2].metric",
            "{metric: fcr,            threshold: 0.70",
            r"duplicate metric 'fcr' \(already used at shared\[1\]\)",
        ),
        (
            "scorecard.yaml",
            "{metric: sales_conversion,",
            "{metric: product_sales,",
            "local.sales[1].metric",
            "{metric: product_sales, threshold: 0.20",
            r"duplicate metric 'product_sales' \(already used at local.sales\[0\]\)",
        ),
        (
            "incentives/balanced.yaml",
            "{metric: csat,",
            "{metric: fcr,",
            "components[1].metric",
            "{metric: fcr,          weight: 0.25",
            "duplicate metric 'fcr'",
        ),
        (
            "causal_graph.yaml",
            "{from: aht_s, to: cost_per_contact, elasticity: 0.8",
            "{from: aht_s, to: fcr, elasticity: 0.8",
            "edges[1]",
            "to: fcr, elasticity: 0.8",
            "duplicate edge 'aht_s -> fcr'",
        ),
    ],
    ids=lambda v: str(v)[:25],
)
def test_duplicate_ids(
    cfg_dir: Path, file: str, old: str, new: str, key: str, needle: str | None, match: str
) -> None:
    path = _edit(cfg_dir, file, old, new)
    text = path.read_text(encoding="utf-8")
    if needle is None:
        # the duplicated id line now appears twice; the error must point at the second (later) one
        starts = [m.start() for m in re.finditer(re.escape(new) + r"\n", text)]
        assert len(starts) == 2
        expected_line = text.count("\n", 0, starts[1]) + 1
    else:
        expected_line = text.count("\n", 0, text.index(needle)) + 1
    _expect(cfg_dir, file, key=key, line=expected_line, match=match)


def test_duplicate_scheme_id(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "incentives/siloed.yaml", "id: siloed", "id: balanced")
    err = _expect(
        cfg_dir,
        "incentives/siloed.yaml",
        key="id",
        line=_line_of(path, "id: balanced"),
        match="duplicate scheme id 'balanced'",
    )
    assert str(cfg_dir / "incentives" / "balanced.yaml") in str(err)


def test_self_loop_in_causal_graph(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "causal_graph.yaml", "{from: csat, to: nps", "{from: nps, to: nps")
    _expect(
        cfg_dir,
        "causal_graph.yaml",
        key="edges[17].to",
        line=_line_of(path, "{from: nps, to: nps"),
        match="cannot cause itself",
    )


# ----------------------------------------------------------------------------------------------- SLAs
_NOT_A_DURATION = r"'{}' is not a duration; write e.g. '20s', '30m', '48h', '5d' or '2w'"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("5 days", _NOT_A_DURATION.format("5 days")),
        ("5", _NOT_A_DURATION.format("5")),  # a quoted number has no unit (unquoted numbers are hours)
        ("-5d", _NOT_A_DURATION.format("-5d")),
        ("five days", _NOT_A_DURATION.format("five days")),
        ("P5 days", _NOT_A_DURATION.format("P5 days")),
        ("0s", r"`within` must be longer than zero"),
    ],
)
def test_bad_duration_string(cfg_dir: Path, bad: str, match: str) -> None:
    path = _edit(cfg_dir, "slas.yaml", "sla: {within: 5d,", f'sla: {{within: "{bad}",')
    _expect(
        cfg_dir,
        "slas.yaml",
        key="journeys[0].stages[1].sla.within",
        line=_line_of(path, f'within: "{bad}"'),
        match=match,
    )


def test_negative_number_of_hours_refused(cfg_dir: Path) -> None:
    path = _edit(cfg_dir, "slas.yaml", "promise: {within: 7d,", "promise: {within: -3,")
    _expect(
        cfg_dir,
        "slas.yaml",
        key="journeys[0].promise.within",
        line=_line_of(path, "-3"),
        match="not a duration",
    )


def test_number_means_hours(cfg_dir: Path) -> None:
    _edit(cfg_dir, "slas.yaml", "promise: {within: 7d,", "promise: {within: 36,")
    assert load_config(cfg_dir).slas.journey("billing_dispute").promise.within == timedelta(hours=36)


def test_lognormal_lead_time_missing_params(cfg_dir: Path) -> None:
    path = _edit(
        cfg_dir,
        "slas.yaml",
        "lead_time: {distribution: gamma, shape: 3.0, scale_h: 22.0}",
        "lead_time: {distribution: lognormal, sigma: 0.6}",
    )
    _expect(
        cfg_dir,
        "slas.yaml",
        key="journeys[0].stages[1].lead_time",
        line=_line_of(path, "lognormal"),
        match="lognormal lead time needs sigma, median_h; missing median_h",
    )


def test_lognormal_lead_time_complete_is_a_scipy_distribution(cfg_dir: Path) -> None:
    _edit(
        cfg_dir,
        "slas.yaml",
        "lead_time: {distribution: gamma, shape: 3.0, scale_h: 22.0}",
        "lead_time: {distribution: lognormal, sigma: 0.6, median_h: 30}",
    )
    lead = load_config(cfg_dir).slas.journey("billing_dispute").stages[1].lead_time
    assert lead is not None
    # the median of a lognormal is exp(mu) = median_h
    assert lead.frozen().median() == pytest.approx(30.0)


# ----------------------------------------------------------------------------------------------- gates
def test_gate_without_min_or_max(cfg_dir: Path) -> None:
    path = _edit(
        cfg_dir, "incentives/balanced.yaml", "{metric: quality_score, min: 70}", "{metric: quality_score}"
    )
    _expect(
        cfg_dir,
        "incentives/balanced.yaml",
        key="gates[0]",
        line=_line_of(path, "{metric: quality_score}"),
        match="a gate needs `min` or `max`",
    )


def test_gate_min_above_max(cfg_dir: Path) -> None:
    path = _edit(
        cfg_dir,
        "incentives/balanced.yaml",
        "{metric: quality_score, min: 70}",
        "{metric: quality_score, min: 70, max: 60}",
    )
    _expect(
        cfg_dir,
        "incentives/balanced.yaml",
        key="gates[0]",
        line=_line_of(path, "max: 60"),
        match="min 70.0 is above max 60.0",
    )


# ----------------------------------------------------------------------------------------------- with_scheme
def test_with_scheme_accepts_modified_scheme(config: CxConfig) -> None:
    data = config.schemes["balanced"].model_dump(by_alias=True)
    data["id"] = "balanced_v2"
    data["components"][0]["target"] = 0.78  # fcr 0.65 < 0.78 <= 0.85
    updated = config.with_scheme(data)
    assert sorted(updated.schemes) == [
        "balanced",
        "balanced_v2",
        "sales_retention",
        "shared_customer",
        "siloed",
    ]
    assert updated.schemes["balanced_v2"].components[0].target == 0.78
    assert sorted(config.schemes) == [
        "balanced",
        "sales_retention",
        "shared_customer",
        "siloed",
    ]  # original untouched
    assert updated.metrics is config.metrics
    # replacing an existing id keeps the number of schemes
    replaced = config.with_scheme(config.schemes["siloed"].model_copy(update={"cap_pct": 120.0}))
    assert len(replaced.schemes) == len(config.schemes)
    assert replaced.schemes["siloed"].cap_pct == 120.0


def test_with_scheme_rejects_unknown_metric(config: CxConfig) -> None:
    data = config.schemes["siloed"].model_dump(by_alias=True)
    data["components"][1]["metric"] = "revenue"
    with pytest.raises(ConfigError, match="unknown metric 'revenue'") as info:
        config.with_scheme(data)
    assert info.value.key == "components[1].metric"
    assert "scheme 'siloed'" in str(info.value)


def test_with_scheme_rejects_unknown_gate_metric_and_role(config: CxConfig) -> None:
    scheme = config.schemes["balanced"]
    with pytest.raises(ConfigError, match="unknown metric 'quality'") as info:
        config.with_scheme(
            scheme.model_copy(update={"gates": [scheme.gates[0].model_copy(update={"metric": "quality"})]})
        )
    assert info.value.key == "gates[0].metric"
    with pytest.raises(ConfigError, match="unknown role 'ceo'") as info:
        config.with_scheme(scheme.model_copy(update={"roles": ["agent", "ceo"]}))
    assert info.value.key == "roles[1]"


def test_with_scheme_revalidates_model_copy(config: CxConfig) -> None:
    # model_copy(update=...) skips pydantic validation; with_scheme must still catch bad weights and order
    scheme = config.schemes["siloed"]
    heavier = scheme.components[0].model_copy(update={"weight": 0.5})  # 0.5 + 0.35 + 0.30 = 1.15
    with pytest.raises(ConfigError, match=r"weights sum to 1\.15") as info:
        config.with_scheme(scheme.model_copy(update={"components": [heavier, *scheme.components[1:]]}))
    assert info.value.key == "components"
    flipped = scheme.components[0].model_copy(update={"threshold": 300.0, "stretch": 420.0})
    with pytest.raises(ConfigError, match="'aht_s' is lower-is-better") as info:
        config.with_scheme(scheme.model_copy(update={"components": [flipped, *scheme.components[1:]]}))
    assert info.value.key == "components[0].threshold"


def test_with_scheme_rejects_typo_in_dict(config: CxConfig) -> None:
    data = config.schemes["siloed"].model_dump(by_alias=True)
    data["cap"] = data.pop("cap_pct")
    with pytest.raises(ConfigError, match="unknown key 'cap'") as info:
        config.with_scheme(data)
    assert info.value.key == "cap"


def test_config_metric_lookup(config: CxConfig) -> None:
    assert config.metric("fcr").direction == "higher_is_better"
    with pytest.raises(ConfigError, match="unknown metric 'fcrr'; known metrics: abandon_rate"):
        config.metric("fcrr")


# ----------------------------------------------------------------------------------------------- durations
_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


@given(
    whole=st.integers(min_value=0, max_value=10_000),
    fraction=st.one_of(st.none(), st.integers(min_value=0, max_value=999)),
    unit=st.sampled_from(sorted(_SECONDS)),
    space=st.sampled_from(["", " "]),
)
def test_parse_duration_units(whole: int, fraction: int | None, unit: str, space: str) -> None:
    number = f"{whole}" if fraction is None else f"{whole}.{fraction:03d}"
    td = parse_duration(f"{number}{space}{unit}")
    expected = Decimal(number) * _SECONDS[unit]  # exact decimal reference
    assert td.total_seconds() == pytest.approx(float(expected), rel=1e-12, abs=1e-6)


@given(seconds=st.integers(min_value=0, max_value=10**9), unit=st.sampled_from(sorted(_SECONDS)))
def test_parse_duration_round_trip(seconds: int, unit: str) -> None:
    # timedelta -> "<n><unit>" -> timedelta; exact when the seconds are a whole number of units
    factor = _SECONDS[unit]
    td = timedelta(seconds=seconds - seconds % factor)
    text = f"{int(td.total_seconds()) // factor}{unit}"
    assert parse_duration(text) == td
    # ISO 8601 (what model_dump(mode="json") writes) round-trips too
    from pydantic import TypeAdapter

    iso = TypeAdapter(timedelta).dump_python(td, mode="json")
    assert parse_duration(iso) == td


@given(hours=st.floats(min_value=0, max_value=1e5, allow_nan=False))
def test_parse_duration_number_is_hours(hours: float) -> None:
    assert parse_duration(hours).total_seconds() == pytest.approx(hours * 3600, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(
    "bad", ["5 days", "5", "5x", "d5", "", "1e3s", True, -1.0, float("nan"), float("inf")]
)
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(bad)  # type: ignore[arg-type]


def test_scheme_is_the_model_load_scheme_returns() -> None:
    assert isinstance(load_scheme(SCHEME_FILES[0]), Scheme)
