"""Partial data in the app (issue 15.7): with only call records, intervals and an HR extract, every page opens
without a traceback, shows what those tables support and names the table each missing analysis needs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"
PAGES = APPS / "views"
SAMPLE = REPO / "data" / "sample"
KEPT = ("contacts", "intervals", "employees")

if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))


@pytest.fixture(scope="module")
def calls_only(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("calls_only")
    for name in KEPT:
        shutil.copy(SAMPLE / f"{name}.parquet", folder / f"{name}.parquet")
    return folder


def _run(page: str, folder: Path, cache: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CX_DATA_DIR", str(folder))
    monkeypatch.setenv("CX_CONFIG_DIR", str(REPO / "configs"))
    monkeypatch.setenv("CX_CACHE_DIR", str(cache))
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=300).run()
    assert not at.exception, (page, [e.value for e in at.exception])
    return at


@pytest.mark.slow
def test_every_page_opens_on_calls_and_employees_only(calls_only, tmp_path, monkeypatch):
    texts: dict[str, str] = {}
    metrics: dict[str, dict[str, str]] = {}
    for page in ("overview", "scorecard", "staffing", "retention", "conflicts", "incentives", "data"):
        at = _run(page, calls_only, tmp_path, monkeypatch)
        texts[page] = " ".join(
            str(e.value) for kind in ("error", "warning", "info") for e in getattr(at, kind)
        )
        metrics[page] = {m.label: m.value for m in at.metric}
        # one line says which tables are not there (not one warning per table)
        assert "Not in the data" in texts[page] and "department_metrics" in texts[page], page
    # what the calls support is shown ...
    assert metrics["overview"]["Realised service level"].endswith("%")
    assert metrics["staffing"]["Realised service level"].endswith("%")
    assert metrics["retention"]["Failure demand share of contacts"].endswith("%")
    # ... and each analysis that cannot run names the table it needs
    assert "Scorecard needs table department_metrics" in texts["overview"]
    assert "needs table customers" in texts["retention"]
    assert "needs table employee_metrics" in texts["incentives"]
