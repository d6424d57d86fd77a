"""Safe YAML reading that remembers where every key is, so errors can name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cx_framework.errors import ConfigError

__all__ = ["read_yaml", "line_of", "format_loc"]


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Read a YAML file with the safe loader; return (data, node tree for line look-ups).

    Raises
    ------
    ConfigError
        Missing file, syntax error (with line), or a tag the safe loader refuses (e.g. ``!!python/object``).
    """
    if not path.exists():
        raise ConfigError("file not found; check the path or copy it from the bundled configs/", file=str(path))
    if not path.is_file():
        raise ConfigError("expected a YAML file, found a directory", file=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(
            f"unsupported YAML tag ({exc.problem}); only plain YAML values are allowed",
            file=str(path),
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"YAML syntax error: {problem}", file=str(path), line=line) from None
    if data is None:
        raise ConfigError("file is empty", file=str(path))
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along ``loc`` (keys and list indices) that exists."""
    best: int | None = node.start_mark.line + 1 if node is not None else None
    current = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            nxt = None
            for key_node, value_node in current.value:
                if key_node.value == str(part):
                    nxt = value_node
                    best = key_node.start_mark.line + 1
                    break
            current = nxt
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
            best = current.start_mark.line + 1
        else:
            break
        if current is None:
            break
    return best


def format_loc(loc: tuple[Any, ...]) -> str:
    """``("components", 2, "weight")`` -> ``components[2].weight``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
