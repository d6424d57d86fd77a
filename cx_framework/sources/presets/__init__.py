"""Presets: column mappings for common exports, each written from the vendor's published column documentation.

A table in ``sources.yaml`` says ``preset: NAME``; the preset's ``columns`` and ``filters`` are used, and the
table's own ``columns`` override or extend them (its ``filters`` are added). Each preset file names the table
it fills, the documentation it follows (``documentation:`` URL) and what it assumes (``notes:``).
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from cx_framework.errors import ConfigError

__all__ = ["PRESET_DIR", "list_presets", "preset", "apply_presets"]

PRESET_DIR = Path(__file__).resolve().parent


def list_presets() -> dict[str, dict[str, Any]]:
    """Preset name -> its definition (``table``, ``title``, ``documentation``, ``notes``, ``columns``...)."""
    return {path.stem: preset(path.stem) for path in sorted(PRESET_DIR.glob("*.yaml"))}


@cache
def _read(name: str) -> dict[str, Any]:
    path = PRESET_DIR / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def preset(name: str) -> dict[str, Any]:
    """The definition of preset ``name`` (a copy; ConfigError naming the closest presets if unknown)."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"unknown preset {name!r}; presets are {', '.join(names)}.{hint}")
    data = _read(name)
    return {**data, "columns": dict(data.get("columns") or {}), "filters": list(data.get("filters") or [])}


def apply_presets(data: dict[str, Any], *, file: str | None = None) -> dict[str, Any]:
    """Expand ``preset:`` in each table of a parsed sources mapping (returns a new mapping)."""
    tables = data.get("tables")
    if not isinstance(tables, dict):
        return data
    out: dict[str, Any] = {}
    for table, source in tables.items():
        if not isinstance(source, dict) or source.get("preset") is None:
            out[table] = source
            continue
        try:
            spec = preset(str(source["preset"]))
        except ConfigError as exc:
            raise ConfigError(str(exc), file=file, key=f"tables.{table}.preset") from None
        if spec["table"] != table:
            raise ConfigError(
                f"preset '{source['preset']}' fills table '{spec['table']}', not '{table}'; move it under "
                f"tables.{spec['table']}",
                file=file,
                key=f"tables.{table}.preset",
            )
        merged = dict(source)
        merged["columns"] = {**spec["columns"], **(source.get("columns") or {})}
        merged["filters"] = [*spec["filters"], *(source.get("filters") or [])]
        for key in ("timezone", "delimiter", "encoding"):
            if key in spec and key not in source:
                merged[key] = spec[key]
        out[table] = merged
    return {**data, "tables": out}
