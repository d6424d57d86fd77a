"""Helpers for the sources tests: write a small raw export and a sources.yaml next to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def write_sources(tmp_path: Path) -> Callable[..., Path]:
    """``write_sources({"tables": ...}, files={"calls.csv": "text"})`` -> path of sources.yaml in tmp_path."""

    def _write(config: dict, files: dict[str, str | bytes] | None = None) -> Path:
        for name, content in (files or {}).items():
            target = tmp_path / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    return _write
