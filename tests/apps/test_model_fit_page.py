"""Staffing page, model-fit section: the calibration the page shows is the library's, on the same sample."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))


def test_staffing_page_shows_the_model_fit(monkeypatch):
    from cx_framework.staffing.calibration import MODELS, fit_queue_models
    from cx_framework.synthetic import load_sample

    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    tables = load_sample(validate=False).tables()
    fit = fit_queue_models(tables["intervals"], contacts=tables["contacts"])
    at = AppTest.from_file(str(APPS / "views" / "staffing.py"), default_timeout=240).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recommended model"] == MODELS[fit.recommended]
    assert metrics["Caller patience (mean)"] == f"{fit.patience_s['(all)']:,.0f} s"
    frames = [df.value for df in at.dataframe if "Model" in df.value.columns]
    assert frames, "calibration table not shown"
    shown = frames[0].set_index("Model")
    for model, name in MODELS.items():
        assert shown.loc[name, "Service level: mean abs. error (pts)"] == pytest.approx(
            fit.overall.loc[model, "sl_mae"] * 100
        )
