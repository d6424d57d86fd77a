"""Safe YAML reading that remembers where every key is, so errors can name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cx_framework.errors import ConfigError

__all__ = ["read_yaml", "line_of", "format_loc", "MAX_CONFIG_BYTES", "MAX_CONFIG_VALUES"]

#: Largest config file read (bytes). The bundled configs are a few kB; a real organisation with hundreds of
#: teams stays far below. Beyond this PyYAML's pure-Python parser needs seconds and hundreds of MB.
MAX_CONFIG_BYTES = 2_000_000
#: Most values (scalars, lists, mappings) a config file may expand to once YAML aliases are resolved: stops
#: "billion laughs" files (a few kB of nested aliases expanding to gigabytes) before they are built.
MAX_CONFIG_VALUES = 200_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date-like scalar that is not a real date (``2024-13-45``) stays the text
    written instead of raising a bare ``ValueError``: the config model then names the key and says what it expects."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

_CSafeLoader: Any = getattr(yaml, "CSafeLoader", None)


def _fast_loader() -> Any:
    """The same safe loader with libyaml's parser (about 5× faster on the bundled configs), or None when PyYAML
    was built without libyaml. A file it refuses is parsed again with :class:`_Loader`, so every error message
    is the pure-Python parser's."""
    if _CSafeLoader is None:
        return None
    fast: Any = type("_FastLoader", (_CSafeLoader,), {"__doc__": _fast_loader.__doc__})
    fast.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
    return fast


_FastLoader: Any = _fast_loader()


def _single_node(text: str) -> tuple[Any, yaml.Node | None]:
    """(loader, composed node) of ``text``: libyaml's parser when it accepts the text, else the pure-Python one
    (which then raises its own, well-worded error)."""
    if _FastLoader is not None:
        fast = _FastLoader(text)
        try:
            return fast, fast.get_single_node()
        except yaml.YAMLError:
            fast.dispose()
    loader = _Loader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        raise


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Read a YAML file with the safe loader; return (data, node tree for line look-ups).

    The text is parsed once: the node tree is composed, checked for repeated keys (which plain PyYAML silently
    resolves to the last value, so ``weight: 0.3`` written twice would hide a mistake), then constructed with
    :class:`yaml.SafeLoader`, which builds only plain values and never calls Python code.

    Raises
    ------
    ConfigError
        Missing or unreadable file, text that is not UTF-8, syntax error (with line), a repeated key, a tag the
        safe loader refuses (e.g. ``!!python/object/apply:os.system``), or an empty file.
    """
    if not path.exists():
        raise ConfigError(
            "file not found; check the path or copy it from the bundled configs/", file=str(path)
        )
    if not path.is_file():
        raise ConfigError("expected a YAML file, found a directory", file=str(path))
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"file is {size / 1e6:.1f} MB; config files are limited to {MAX_CONFIG_BYTES / 1e6:g} MB. Is this "
                "the right file?",
                file=str(path),
            )
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "file is not UTF-8 text; save it as UTF-8",
            file=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read file ({exc.strerror}); check its permissions", file=str(path)
        ) from None
    loader: Any = None
    try:
        loader, node = _single_node(text)
        if node is not None:
            expanded = _expanded_size(node, {})
            if expanded > MAX_CONFIG_VALUES:
                raise ConfigError(
                    f"file expands to {expanded:,} values once its YAML aliases (*name) are resolved; the limit is "
                    f"{MAX_CONFIG_VALUES:,}. Write the values out instead of nesting aliases.",
                    file=str(path),
                )
            _check_duplicate_keys(node, (), path, set())
        data = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"unsupported YAML tag ({exc.problem}); only plain YAML values (no !!python/... tags) are allowed",
            file=str(path),
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"YAML syntax error: {problem}", file=str(path), line=line) from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        raise ConfigError('file is empty; it needs the keys described in DESIGN.md "Configs"', file=str(path))
    return data, node


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Number of values the node stands for with aliases expanded, computed without expanding (memoised on the
    shared alias nodes, so a nested-alias bomb costs linear time); saturates just above the limit."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_CONFIG_VALUES + 1  # a node reached again while being counted: recursive alias
    total = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo) + _expanded_size(v, memo)
            if total > MAX_CONFIG_VALUES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, memo)
            if total > MAX_CONFIG_VALUES:
                break
    memo[key] = min(total, MAX_CONFIG_VALUES + 1)
    return memo[key]


def _check_duplicate_keys(node: yaml.Node, loc: tuple[Any, ...], path: Path, seen: set[int]) -> None:
    """Raise on a key written twice in the same mapping (anchors/aliases are visited once)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in first:
                    raise ConfigError(
                        f"key '{key_node.value}' appears twice in the same block (first on line "
                        f"{first[key_node.value]}); keep one",
                        file=str(path),
                        key=format_loc((*loc, key_node.value)),
                        line=line,
                    )
                first[key_node.value] = line
                _check_duplicate_keys(value_node, (*loc, key_node.value), path, seen)
            else:
                _check_duplicate_keys(value_node, loc, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, (*loc, i), path, seen)


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
        # pydantic's marker for "the key of this dict entry"; the previous part already names that key
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
