"""Print a pip constraints file pinning every direct dependency to the lowest version pyproject.toml allows.

Used by `.ci/run` for the second test run ("lowest direct versions"): it reads `[project].dependencies` and the
`dev` extra (following self-references such as `cx_framework[spark]`, so extras others add are covered), and
pins `name==lower_bound` for each requirement with a lower bound (`>=`, `~=`, `==`). Transitive dependencies are
left to the resolver, as in uv's `--resolution lowest-direct`. Standard library only (tomllib, Python >= 3.11).

Usage: python .ci/lowest_constraints.py [pyproject.toml] [extra ...]   (default extra: dev)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*)(?:;(.*))?$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lower_bound(spec: str) -> str | None:
    for part in spec.split(","):
        match = re.match(r"^\s*(>=|~=|==)\s*([^\s,]+)\s*$", part)
        if match and "*" not in match.group(2):
            return match.group(2)
    return None


def constraints(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    own = _normalise(project["name"])
    optional = project.get("optional-dependencies", {})
    pins: dict[str, str] = {}
    seen: set[str] = set()
    todo: list[str] = list(project.get("dependencies", []))
    pending_extras = list(extras)
    while todo or pending_extras:
        if not todo:
            extra = pending_extras.pop()
            if extra in seen:
                continue
            seen.add(extra)
            todo.extend(optional.get(extra, []))
            continue
        match = _REQ.match(todo.pop(0))
        if match is None:
            continue
        name, req_extras, spec, _marker = match.groups()
        if _normalise(name) == own:
            pending_extras.extend(e.strip() for e in (req_extras or "").split(",") if e.strip())
            continue
        bound = _lower_bound(spec or "")
        if bound is not None:
            key = _normalise(name)
            # the same package required twice: the higher lower bound wins
            if key not in pins or _version_key(bound) > _version_key(pins[key]):
                pins[key] = bound
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "pyproject.toml"
    print("\n".join(constraints(path, sys.argv[2:] or ["dev"])))
