"""The :class:`Analysis`: one object per data + config + assumptions, every headline figure computed once.

Sections (scorecard, payouts, conflicts, behaviour, sla_chain, staffing, retention, failure_demand, actions) are
computed lazily, each at most once, and reused by every surface. Each section declares the tables it needs; a
section whose table is missing or invalid is *unavailable* with a reason naming the table, and the others still
run (partial data).

Disk cache
----------
With ``cache_dir`` every computed section is also written to ``<cache_dir>/<key>/``: ``manifest.json`` (key,
creation time, resolved assumptions, and per section its figures, caveats and frame names), one Parquet file per
small frame (``<section>.<frame>.parquet``) and the section's engine result (``<section>.pkl``, pickle). The key
hashes the data stamp (file names, sizes, modification times — or the frames' content), the whole configuration
and the assumptions (and the library's own source files), so any change opens a new entry; the least recently
written entries beyond ``$CX_CACHE_MAX_ENTRIES`` (default 8) are removed. A later process opening the same key serves figures and
frames from the manifest and Parquet without reading the data, and unpickles an engine result only when a
surface asks for it. A data directory's tables, once read and validated, are kept too (``tables/<table>-<hash>.pkl``,
keyed by the file's path, size and modification time and the library's code): a later process that needs the
rows reads them back instead of validating the file again. Pickle runs code from the file it reads: the cache directory must be as trusted as the
code itself (your own user cache, never a shared writable folder) — the same rule as ``st.cache_data(persist=...)``
and joblib's memory cache.

Individual pay and the disk cache
---------------------------------
Every cache directory is created 0700 and every cache file 0600 (owner only, from its first byte), so other
accounts on the machine cannot read it even where home directories are world-readable (Debian's default).
When access control is on — an ``access.yaml`` for the configuration (:func:`cx_framework.access.find_access_file`)
or a ``viewer`` given — nothing that holds individual pay is written at all (``cache_personal=False``): not the
engine result of a personal section (the ``payouts`` section's per-employee payouts), not its per-group frames
(``personal_frames``: winners and losers per department and role, small groups included), not the validated
``employees`` table (base salaries); the action plan keeps only a link to the payouts section. Those are
recomputed in memory by each process that needs them (the payouts section: ~1-2 s on the sample), while the
aggregate figures and frames are still served from the cache. Why recompute rather than an "HR-only" cache
with 0600 files: file permissions separate operating-system accounts, not app roles — the app serves HR and
leadership from one account, so a file only that account can read would still be one every signed-in role's
requests read from; and a CLI user who may read the data already has the pay in the data files, so a second
copy at rest buys nothing but exposure (a cache directory is copied, backed up and shared more lightly than a
data folder). With access control off (no access.yaml: everyone sees every salary anyway) personal sections
are cached like the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cx_framework.errors import CxError, InputValueError, StatisticalWarning
from cx_framework.figures import Figure

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig
    from cx_framework.config.models import Assumptions

__all__ = [
    "Analysis",
    "SectionResult",
    "SectionSpec",
    "SECTIONS",
    "section",
    "load_available_tables",
    "LazyTables",
    "default_cache_dir",
    "CACHE_FORMAT",
    "ENGINE_TABLES",
    "PAY_TABLES",
    "personal_cache_allowed",
]

#: Version of the disk-cache layout (part of every key).
CACHE_FORMAT = 1


@dataclass(frozen=True)
class SectionResult:
    """What one analysis section produced.

    Attributes
    ----------
    result : object
        The engine result (e.g. a ScorecardResult); None when served from the disk cache and not yet loaded.
    figures : list of Figure
        Headline figures of the section (registry specs filled with values).
    frames : dict of str to DataFrame
        Small aggregate frames the surfaces draw (persisted as Parquet).
    notes : list of str
        Statistical caveats raised while computing (shown next to the result, never hidden).
    """

    result: Any = None
    figures: list[Figure] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SectionSpec:
    """A registered section: name, tables it needs (all) and can use (optional), and whether its engine result
    exposes individual pay (``personal``: reading it goes through the Analysis' ``authorize`` hook)."""

    name: str
    compute: Callable[[Analysis], SectionResult]
    needs: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    personal: bool = False
    label: str = ""
    #: ``pack(result, analysis)`` before pickling / ``unpack(result, analysis)`` after (e.g. drop what other
    #: sections already store); identity when None
    pack: Callable[[Any, Analysis], Any] | None = None
    unpack: Callable[[Any, Analysis], Any] | None = None
    #: False for sections that only serve interactive alternatives (left out of "every section")
    headline: bool = True
    #: frames that describe small groups of employees' pay: not written to the disk cache under access control
    personal_frames: tuple[str, ...] = ()
    #: ``restrict(frames, viewer, analysis)``: the frames as ``viewer`` may see them (e.g. small groups merged);
    #: applied by :meth:`Analysis.frames` / :meth:`frames_for` for a viewer
    restrict: Callable[..., dict[str, pd.DataFrame]] | None = None
    #: ``restrict_figures(figures, frames, viewer, analysis)``: the figures as ``viewer`` may see them (e.g. a pay
    #: aggregate over too few employees withheld); applied by :meth:`Analysis.figures` / :meth:`figures_for`
    restrict_figures: Callable[..., list[Figure]] | None = None
    #: ``restrict_result(result, viewer, analysis)``: the engine result as ``viewer`` may hold it (e.g. no
    #: per-employee pay outside HR); applied by :meth:`Analysis.result` / :meth:`result_for` for a viewer
    restrict_result: Callable[..., Any] | None = None


#: Registered sections in computation order.
SECTIONS: dict[str, SectionSpec] = {}


def section(
    name: str,
    *,
    needs: Iterable[str] = (),
    optional: Iterable[str] = (),
    personal: bool = False,
    label: str = "",
    pack: Callable[[Any, Analysis], Any] | None = None,
    unpack: Callable[[Any, Analysis], Any] | None = None,
    headline: bool = True,
    personal_frames: Iterable[str] = (),
    restrict: Callable[..., dict[str, pd.DataFrame]] | None = None,
    restrict_figures: Callable[..., list[Figure]] | None = None,
    restrict_result: Callable[..., Any] | None = None,
) -> Callable[[Callable[[Analysis], SectionResult]], Callable[[Analysis], SectionResult]]:
    """Register ``fn(analysis) -> SectionResult`` as section ``name``."""

    def decorator(fn: Callable[[Analysis], SectionResult]) -> Callable[[Analysis], SectionResult]:
        SECTIONS[name] = SectionSpec(
            name=name,
            compute=fn,
            needs=tuple(needs),
            optional=tuple(optional),
            personal=personal,
            label=label or name.replace("_", " "),
            pack=pack,
            unpack=unpack,
            headline=headline,
            personal_frames=tuple(personal_frames),
            restrict=restrict,
            restrict_figures=restrict_figures,
            restrict_result=restrict_result,
        )
        return fn

    return decorator


def default_cache_dir() -> Path:
    """``$CX_CACHE_DIR``, else ``$XDG_CACHE_HOME/cx_framework``, else ``~/.cache/cx_framework``."""
    env = os.environ.get("CX_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cx_framework"


# ------------------------------------------------------------------------------------------------ data
class LazyTables(Mapping[str, pd.DataFrame]):
    """The valid tables of a data directory, each read and validated the first time it is used.

    ``name in tables`` is True only for a table that is present *and* valid; a missing or invalid table is
    recorded in :attr:`problems` (one-line reason naming the file, column and rows) instead of failing the
    others. Iterating reads every table.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        tables: Iterable[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        private: Iterable[str] = (),
    ) -> None:
        from cx_framework._tables import REQUIRED_TABLES, TABLES
        from cx_framework.io import _find_table_files

        self.root = Path(directory)
        #: validated frames kept as pickles under ``<cache_dir>/tables/``, keyed by the file's path, size and
        #: modification time and the library's code (the same identity the Analysis cache key trusts), so a
        #: later process reads a valid table back instead of parsing and validating it again
        self.cache_dir = Path(cache_dir) / "tables" if cache_dir is not None else None
        #: tables never kept in the disk cache (``employees`` under access control: base salaries)
        self.private = frozenset(private)
        wanted = list(tables) if tables is not None else list(TABLES)
        self.files = _find_table_files(self.root, wanted)
        self.problems: dict[str, str] = {
            name: f"no {name}.parquet or {name}.csv in {self.root}"
            for name in wanted
            if name in REQUIRED_TABLES and name not in self.files
        }
        self._frames: dict[str, pd.DataFrame] = {}

    def _load(self, name: str) -> pd.DataFrame | None:
        from cx_framework.errors import DataValidationError
        from cx_framework.io import read_table

        if name in self._frames:
            return self._frames[name]
        if name not in self.files or name in self.problems:
            return None
        cached = self._validated_path(name)
        if cached is not None and cached.is_file():
            try:
                with cached.open("rb") as fh:
                    self._frames[name] = pickle.load(fh)  # noqa: S301 - our own cache (module docstring)
                return self._frames[name]
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                pass  # unreadable: validate the file again
        try:
            self._frames[name] = read_table(self.files[name], name)
        except DataValidationError as exc:
            self.problems[name] = str(exc).split("\nTip:")[0].split(" Tip:")[0]
            return None
        if cached is not None:
            self._keep_validated(cached, self._frames[name])
        return self._frames[name]

    def _validated_path(self, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        if name in self.private:
            # a copy an access-off process left (same file identity) is removed: no salaries at rest here
            kept = self._cache_path(name)
            if kept is not None:
                with contextlib.suppress(OSError):
                    kept.unlink(missing_ok=True)
            return None
        return self._cache_path(name)

    def _cache_path(self, name: str) -> Path | None:
        assert self.cache_dir is not None
        try:
            file = self.files[name].resolve()
            info = file.stat()
        except OSError:
            return None
        identity = f"{file}|{info.st_size}|{info.st_mtime_ns}|{name}|{CACHE_FORMAT}|{_code_stamp()}"
        return self.cache_dir / f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.pkl"

    def _keep_validated(self, path: Path, frame: pd.DataFrame) -> None:
        from cx_framework.io import write_bytes_atomic

        try:
            _private_dir(path.parent)
            write_bytes_atomic(path, pickle.dumps(frame, protocol=5), mode=0o600)
            kept = sorted(path.parent.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
            keep = 8 * int(os.environ.get("CX_CACHE_MAX_ENTRIES", "8"))
            for old in kept[keep:]:
                old.unlink(missing_ok=True)
        except (OSError, pickle.PicklingError):  # a full or read-only disk only costs the next process time
            return

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._load(name)
        if frame is None:
            raise KeyError(name)
        return frame

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._load(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([name for name in self.files if self._load(name) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def load_all(self) -> dict[str, pd.DataFrame]:
        return {name: self[name] for name in self}


def load_available_tables(
    directory: str | os.PathLike[str], tables: Iterable[str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read every table of ``directory`` that is present and valid; report the others instead of failing.

    Returns
    -------
    (tables, problems)
        Valid tables by name, and for each required table that is missing or invalid a one-line reason
        (the validation message names the file, column and rows).

    Raises
    ------
    DataValidationError
        Only when ``directory`` itself does not exist.
    """
    from cx_framework.errors import DataValidationError

    root = Path(directory)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise DataValidationError(f"Data directory {root} {what}.", file=str(root))
    lazy = LazyTables(root, tables)
    frames = lazy.load_all()
    return frames, dict(lazy.problems)


#: The bundled sample (as :data:`cx_framework.synthetic.SAMPLE_DIR`, without importing the generator).
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
_TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")


def directory_stamp(directory: str | os.PathLike[str]) -> str:
    """Identity of a data directory for the cache key: name, size and modification time of every table file in
    it (cheap: no file is read, and nothing heavy is imported, so a cached analysis opens fast)."""
    root = Path(directory).resolve()
    parts = []
    for path in sorted(root.iterdir()):
        if path.is_file() and path.name.lower().endswith(_TABLE_SUFFIXES):
            info = path.stat()
            parts.append(f"{path.name}:{info.st_size}:{info.st_mtime_ns}")
    return f"{root}|" + "|".join(parts)


def _frames_stamp(tables: Mapping[str, pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        digest.update(str(list(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return "frames:" + digest.hexdigest()


_CODE_STAMP: list[str] = []


def _code_stamp() -> str:
    """Changes whenever a module of cx_framework changes (an engine fix must never be served a stale cache)."""
    if not _CODE_STAMP:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            info = path.stat()
            digest.update(f"{path.relative_to(root)}:{info.st_size}:{info.st_mtime_ns}".encode())
        _CODE_STAMP.append(digest.hexdigest())
    return _CODE_STAMP[0]


def _prune(cache_dir: Path, keep: int) -> None:
    """Remove the least recently written entries beyond ``keep``."""
    import shutil

    entries = [p for p in cache_dir.iterdir() if (p / "manifest.json").is_file()]
    entries.sort(key=lambda p: (p / "manifest.json").stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _config_digest(config: CxConfig) -> str:
    parts: dict[str, Any] = {}
    for name in (
        "organisation",
        "metrics",
        "scorecard",
        "causal_graph",
        "slas",
        "economics",
        "failure_demand",
    ):
        parts[name] = getattr(config, name).model_dump(mode="json", by_alias=True)
    parts["schemes"] = {
        k: v.model_dump(mode="json", by_alias=True) for k, v in sorted(config.schemes.items())
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


#: Tables that stay in the engine on DuckDB/Spark (one row per contact / work-item stage / customer: the big ones).
ENGINE_TABLES: tuple[str, ...] = ("contacts", "work_items", "customers")


@dataclass
class _EngineState:
    """The engine connection and the tables validated in it, shared by an Analysis and its
    :meth:`~Analysis.with_assumptions` copies."""

    engine: Any = None
    tables: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    #: one caller at a time on the engine connection: a DuckDB connection refuses a second concurrent query
    #: ("connection is busy with another call"), which the app meets when a rerun starts while the stopped
    #: run's query still runs. Re-entrant: a section computes the sections and tables it reads.
    lock: Any = field(default_factory=threading.RLock)


# ------------------------------------------------------------------------------------------------ Analysis
class Analysis:
    """Every analysis of one organisation's data under one configuration and one set of assumptions.

    Parameters
    ----------
    tables : mapping of str to DataFrame, optional
        Validated tables (any subset of the data contract). Give either ``tables`` or ``loader``.
    config : CxConfig
        :func:`cx_framework.config.load_config` result.
    assumptions : Assumptions, optional
        Default ``config.assumptions`` (``assumptions.yaml``).
    loader : callable, optional
        ``() -> (tables, problems)`` called the first time a section needs data (lets a cached analysis open
        without reading the data).
    data_stamp : str, optional
        Identity of the data for the cache key (default: a hash of the frames' content).
    table_problems : mapping of str to str, optional
        Tables known to be missing or invalid, with the reason.
    cache_dir : path-like, optional
        Disk cache root (see the module docstring); None = memory only.
    viewer : object, optional
        Who is looking (passed to ``authorize``).
    authorize : callable, optional
        ``authorize(viewer, section_name)`` called before a personal section's engine result (individual pay) is
        returned; it raises to refuse.
    cache_personal : bool, optional
        Whether individual pay may be written to the disk cache (see the module docstring). Default: only when
        access control is off — no ``viewer`` and no access.yaml for ``config`` (``CX_ACCESS_FILE`` or
        ``<configs>/access.yaml``).
    engine : {"pandas", "duckdb", "spark"}, optional
        Where the row-level steps run (default ``pandas`` here; :meth:`from_data_dir` defaults to
        ``config.engine.kind``, DuckDB). On DuckDB/Spark the large tables (:data:`ENGINE_TABLES`) are validated
        and aggregated in the engine and never loaded into pandas by the sections: the customer panel and the
        retention fit, the failure-demand classification and repeat chains, the stage lead-time fits and the
        journeys per year come back as aggregates; the small tables (intervals, employees, metrics, customers)
        are read as before. ``Analysis.tables[...]`` still reads a large table into memory on request (surfaces
        that draw rows), so code that only needs aggregates must use the sections.
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame] | None = None,
        config: CxConfig | None = None,
        *,
        assumptions: Assumptions | None = None,
        loader: Callable[[], tuple[Mapping[str, pd.DataFrame], dict[str, str]]] | None = None,
        data_stamp: str | None = None,
        table_problems: Mapping[str, str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        viewer: Any = None,
        authorize: Callable[[Any, str], None] | None = None,
        truth: Any = None,
        engine: str | None = None,
        cache_personal: bool | None = None,
    ) -> None:
        from cx_framework.analysis import sections as _sections  # noqa: F401 - registers the sections
        from cx_framework.engine.settings import ENGINES

        if config is None:
            raise InputValueError("Analysis needs a config (cx_framework.load_config)", argument="config")
        if tables is None and loader is None:
            raise InputValueError("Analysis needs tables or a loader", argument="tables")
        self.config = config
        self.assumptions = assumptions if assumptions is not None else config.assumptions
        self._tables: Mapping[str, pd.DataFrame] | None = (
            tables if isinstance(tables, LazyTables) or tables is None else dict(tables)
        )
        self._problems: dict[str, str] = dict(table_problems or {})
        self._loader = loader
        self._data_stamp = data_stamp
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.viewer = viewer
        #: individual pay is written to the disk cache only with access control off (module docstring)
        self.cache_personal: bool = _cache_personal(cache_personal, config, viewer)
        # individual pay is guarded by the access rules unless the caller brings its own check
        if authorize is None:
            from cx_framework.access import authorize as _access_authorize

            authorize = _access_authorize
        self._authorize = authorize
        self.truth = truth
        if engine is not None and engine not in ENGINES:
            raise InputValueError(
                f"engine must be one of {', '.join(ENGINES)}; got {engine!r}", argument="engine"
            )
        #: where the row-level steps run: ``pandas`` (in memory; default for frames passed as ``tables``),
        #: ``duckdb`` or ``spark`` (the large tables stay in the engine; only aggregates reach pandas)
        self.engine_kind: str = engine or "pandas"
        self._engine_state = _EngineState()
        #: the data directory when opened with :meth:`from_data_dir` (engines that read files directly use it)
        self.data_dir: Path | None = None
        self._sections: dict[str, SectionResult] = {}
        self._failed: dict[str, str] = {}
        self._resolved: dict[str, Any] = {}
        self._manifest: dict[str, Any] | None = None
        self._key: str | None = None
        self.created_at: datetime = datetime.now(UTC)
        self.from_cache = False
        self._open_cache()

    # -------------------------------------------------------------------------------------- constructors
    @classmethod
    def from_data_dir(
        cls,
        data_dir: str | os.PathLike[str],
        config: CxConfig | str | os.PathLike[str] = "configs",
        *,
        assumptions: Assumptions | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        viewer: Any = None,
        authorize: Callable[[Any, str], None] | None = None,
        engine: str | None = None,
        cache_personal: bool | None = None,
    ) -> Analysis:
        """The analysis of a data directory; tables are read (and validated) only when a section needs them,
        and a missing or invalid table makes only the sections that need it unavailable.

        ``engine`` (``duckdb`` | ``spark`` | ``pandas``) defaults to ``config.engine.kind`` (``engine.yaml``;
        DuckDB when absent): the large tables are validated and aggregated where they lie."""
        from cx_framework.config import load_config
        from cx_framework.errors import DataValidationError

        root = Path(data_dir)
        if not root.is_dir():
            what = "is not a directory" if root.exists() else "does not exist"
            raise DataValidationError(f"Data directory {root} {what}.", file=str(root))
        cfg = config if not isinstance(config, str | os.PathLike) else load_config(Path(config))
        personal = _cache_personal(cache_personal, cfg, viewer)
        private = () if personal else PAY_TABLES
        analysis = cls(
            config=cfg,
            assumptions=assumptions,
            loader=lambda: (LazyTables(root, cache_dir=cache_dir, private=private), {}),
            data_stamp=directory_stamp(root),
            cache_dir=cache_dir,
            viewer=viewer,
            authorize=authorize,
            engine=engine or cfg.engine.kind,
            cache_personal=personal,
        )
        analysis.data_dir = root
        return analysis

    @classmethod
    def from_sample(
        cls,
        config: CxConfig | str | os.PathLike[str] = "configs",
        *,
        assumptions: Assumptions | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        viewer: Any = None,
        authorize: Callable[[Any, str], None] | None = None,
        engine: str | None = None,
        cache_personal: bool | None = None,
    ) -> Analysis:
        """The analysis of the bundled sample organisation (``data/sample``)."""
        analysis = cls.from_data_dir(
            SAMPLE_DIR,
            config,
            assumptions=assumptions,
            cache_dir=cache_dir,
            viewer=viewer,
            authorize=authorize,
            engine=engine,
            cache_personal=cache_personal,
        )
        return analysis

    def with_assumptions(self, **changes: Any) -> Analysis:
        """A new Analysis of the same data and config with some assumptions changed (validated; unknown keys
        and bad values raise ConfigError naming the key)."""
        from cx_framework.config.loader import parse_model
        from cx_framework.config.models import Assumptions

        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        data = {**self.assumptions.model_dump(), **changes}
        new = parse_model(Assumptions, data, file="assumptions (command-line override)")
        if new.current_scheme is not None and new.current_scheme not in self.config.schemes:
            from cx_framework.errors import ConfigError

            known = ", ".join(sorted(self.config.schemes)) or "none"
            raise ConfigError(
                f"current_scheme '{new.current_scheme}' is not a configured scheme; known: {known}",
                key="current_scheme",
            )
        copy = Analysis(
            tables=self._tables,
            config=self.config,
            assumptions=new,
            loader=self._loader,
            data_stamp=self._data_stamp,
            table_problems=self._problems,
            cache_dir=self.cache_dir,
            viewer=self.viewer,
            authorize=self._authorize,
            truth=self.truth,
            engine=self.engine_kind,
            cache_personal=self.cache_personal,
        )
        copy._engine_state = self._engine_state  # one engine connection and one validation per table
        copy.data_dir = self.data_dir
        return copy

    # -------------------------------------------------------------------------------------- identity
    @property
    def data_stamp(self) -> str:
        if self._data_stamp is None:
            self._data_stamp = _frames_stamp(self.tables)
        return self._data_stamp

    @property
    def key(self) -> str:
        """Hash of data stamp + configuration + assumptions (+ cache format and library version)."""
        if self._key is None:
            from cx_framework import __version__

            text = json.dumps(
                {
                    "data": self.data_stamp,
                    "config": _config_digest(self.config),
                    "assumptions": self.assumptions.model_dump(mode="json"),
                    "format": CACHE_FORMAT,
                    "version": __version__,
                    "code": _code_stamp(),
                    # same figures on every engine, but the engine results differ (no row-level panel on DuckDB)
                    "engine": self.engine_kind,
                },
                sort_keys=True,
            )
            self._key = hashlib.sha256(text.encode()).hexdigest()[:24]
        return self._key

    @property
    def age_s(self) -> float:
        """Seconds since the figures were computed (older than the process when opened from the cache)."""
        return (datetime.now(UTC) - self.created_at).total_seconds()

    def age_text(self) -> str:
        """``computed 3 min ago (2026-12-01 08:12 UTC)``."""
        age = self.age_s
        if age < 90:
            ago = f"{age:.0f} s"
        elif age < 5400:
            ago = f"{age / 60:.0f} min"
        elif age < 172800:
            ago = f"{age / 3600:.1f} h"
        else:
            ago = f"{age / 86400:.0f} days"
        return f"computed {ago} ago ({self.created_at:%Y-%m-%d %H:%M} UTC)"

    # -------------------------------------------------------------------------------------- data
    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The valid tables (a data directory's tables are read and validated one by one on first use)."""
        if self._tables is None:
            assert self._loader is not None
            tables, problems = self._loader()
            self._tables = tables
            self._problems.update(problems)
        return self._tables

    @property
    def table_problems(self) -> dict[str, str]:
        """Missing or invalid tables with the reason (of the tables looked at so far)."""
        if self._tables is None and self._manifest is not None:
            return dict(self._manifest.get("table_problems", {}))
        tables = self.tables
        extra = tables.problems if isinstance(tables, LazyTables) else {}
        return {**self._problems, **extra, **self._engine_state.problems}

    def has(self, table: str) -> bool:
        """Whether ``table`` is present and valid (reads and validates it if not done yet; a large table on the
        DuckDB/Spark engine is validated in the engine, not read)."""
        if self.uses_engine and table in ENGINE_TABLES:
            return self.engine_table(table) is not None
        return table in self.tables

    # -------------------------------------------------------------------------------------- engine
    @property
    def uses_engine(self) -> bool:
        """True when the large tables stay in DuckDB or Spark (``engine_kind`` is not ``pandas``)."""
        return self.engine_kind != "pandas"

    @property
    def engine(self) -> Any:
        """The :class:`cx_framework.engine.Engine` (connected once, with the resources of ``engine.yaml``)."""
        state = self._engine_state
        with state.lock:
            if state.engine is None:
                from cx_framework.engine import connect

                state.engine = connect(self.config.engine, kind=self.engine_kind)
        return state.engine

    def _engine_lock(self) -> contextlib.AbstractContextManager[Any]:
        """Held while this Analysis (or a copy sharing its engine) runs engine queries; free on pandas."""
        return self._engine_state.lock if self.uses_engine else contextlib.nullcontext()

    def engine_table(self, name: str) -> Any:
        """Table ``name`` validated in the engine (:class:`cx_framework.engine.ValidatedTable`, lazy), or None
        when it is missing or invalid (the reason is in :attr:`table_problems`)."""
        state = self._engine_state
        if name in state.tables:
            return state.tables[name]
        with state.lock:
            if name not in state.tables:
                state.tables[name] = self._validate_in_engine(name)
        return state.tables[name]

    def _validate_in_engine(self, name: str) -> Any:
        state = self._engine_state
        from cx_framework._tables import REQUIRED_TABLES
        from cx_framework.engine import validate_table
        from cx_framework.errors import DataValidationError
        from cx_framework.io import _find_table_files, _string_columns

        validated = None
        if self.data_dir is not None:
            files = _find_table_files(self.data_dir, [name])
            if name not in files:
                if name in REQUIRED_TABLES:
                    state.problems[name] = f"no {name}.parquet or {name}.csv in {self.data_dir}"
            else:
                try:
                    source = self.engine.read(files[name], text_columns=tuple(_string_columns(name)))
                    validated = validate_table(self.engine, name, source, file=str(files[name]))
                except DataValidationError as exc:
                    state.problems[name] = str(exc).split("\nTip:")[0].split(" Tip:")[0]
        else:
            frames = self.tables
            if name in frames:
                try:
                    validated = validate_table(self.engine, name, frames[name])
                except DataValidationError as exc:
                    state.problems[name] = str(exc).split("\nTip:")[0].split(" Tip:")[0]
        return validated

    # -------------------------------------------------------------------------------------- sections
    def _spec(self, name: str) -> SectionSpec:
        spec = SECTIONS.get(name)
        if spec is None:
            raise InputValueError(f"unknown section {name!r}; known: {', '.join(SECTIONS)}", argument="name")
        return spec

    def missing_tables(self, name: str) -> list[str]:
        """Tables section ``name`` needs that are missing or invalid."""
        spec = self._spec(name)
        if self._tables is None and self._manifest is not None:
            problems = self._manifest.get("table_problems", {})
            return [t for t in spec.needs if t in problems]
        return [t for t in spec.needs if not self.has(t)]

    def unavailable(self, *names: str) -> dict[str, str]:
        """Sections that cannot run, with a reason naming the missing/invalid table (or the error)."""
        out: dict[str, str] = {}
        for name in names or headline_sections():
            reason = self.why_unavailable(name)
            if reason:
                out[name] = reason
        return out

    def why_unavailable(self, name: str) -> str | None:
        if name in self._sections:
            return None
        cached = (self._manifest or {}).get("sections", {}).get(name)
        if cached is not None:
            return None
        if name in self._failed:
            return self._failed[name]
        parts = self.missing_table_problems(name)
        if parts:
            return f"{self._spec(name).label} needs table {' and '.join(parts)}"
        return None

    def missing_table_problems(self, name: str) -> list[str]:
        """:meth:`missing_tables` of section ``name``, each with its problem: ``["customers (missing)"]``."""
        problems = self.table_problems
        return [f"{t} ({problems.get(t, 'missing')})" for t in self.missing_tables(name)]

    def available(self, name: str) -> bool:
        """Whether section ``name`` has (or can compute) a result; computing it if needed."""
        try:
            self.section(name)
        except _Unavailable:
            return False
        return True

    def computed(self, name: str) -> bool:
        """True when section ``name`` needs no computing: it is in memory or in the disk cache."""
        return name in self._sections or name in self._manifest_sections()

    def section_label(self, name: str) -> str:
        """The human name of section ``name`` (e.g. ``"Staffing"``)."""
        return self._spec(name).label

    def section(self, name: str) -> SectionResult:
        """Section ``name`` (computed once; served from the disk cache when there).

        Raises
        ------
        CxError
            The section is unavailable (message says which table it needs), or its engine raised a CxError.
        """
        if name in self._sections:
            return self._sections[name]
        cached = self._cached_section(name)
        if cached is not None:
            self._sections[name] = cached
            return cached
        with self._engine_lock():
            if name in self._sections:  # another thread computed it while this one waited
                return self._sections[name]
            return self._compute_section(name)

    def _compute_section(self, name: str) -> SectionResult:
        reason = self.why_unavailable(name)
        if reason:
            raise _Unavailable(reason, section=name)
        spec = self._spec(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            try:
                result = spec.compute(self)
            except _Unavailable as exc:
                self._failed[name] = str(exc)
                raise
            except CxError as exc:
                self._failed[name] = f"{spec.label} could not be computed: {exc}"
                raise
        notes = list(
            dict.fromkeys(
                [
                    *result.notes,
                    *(str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)),
                ]
            )
        )
        for w in caught:  # anything else is not ours to swallow
            if not issubclass(w.category, StatisticalWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        result = SectionResult(
            result=result.result, figures=result.figures, frames=result.frames, notes=notes
        )
        self._sections[name] = result
        self._save_section(name, result)
        return result

    def result(self, name: str) -> Any:
        """The engine result of section ``name`` as the Analysis' ``viewer`` may hold it: personal sections go
        through ``authorize``, and a section's ``restrict_result`` takes out what the viewer may not read (the
        payouts' and the action plan's scheme comparison hold no per-employee pay outside HR)."""
        return self.result_for(name, self.viewer)

    def result_for(self, name: str, viewer: Any) -> Any:
        """:meth:`result` as ``viewer`` may hold it (``None``: access control off) — for a surface serving several
        viewers from one Analysis (the app): a personal section is authorized for ``viewer`` (refusal logged),
        and the section's ``restrict_result`` applied."""
        spec = self._spec(name)
        if spec.personal and self._authorize is not None:
            self._authorize(viewer, name)
        value = self._result(name, check=False)
        if spec.restrict_result is not None and viewer is not None:
            return spec.restrict_result(value, viewer, self)
        return value

    def _result(self, name: str, *, check: bool = True) -> Any:
        """The engine result of section ``name`` as computed. ``check=False`` skips the access check: only for
        a section computing from another one (the action plan from the payouts), whose own result is
        restricted when it is read."""
        spec = self._spec(name)
        if check and spec.personal and self._authorize is not None:
            self._authorize(self.viewer, name)
        sec = self.section(name)
        if sec.result is None and self.from_cache:
            loaded = self._load_result(name)
            if loaded is not None:
                sec = SectionResult(result=loaded, figures=sec.figures, frames=sec.frames, notes=sec.notes)
                self._sections[name] = sec
        if sec.result is None:  # cache without a result: compute it now
            self._sections.pop(name, None)
            self._manifest_sections().pop(name, None)
            sec = self.section(name)
        return sec.result

    def frames(self, name: str) -> dict[str, pd.DataFrame]:
        """Small aggregate frames of section ``name``, as the Analysis' ``viewer`` may see them (a section's
        ``restrict``: e.g. the payouts section's winners and losers with groups of fewer than the viewer's
        ``min_group_size`` employees merged, for everyone outside HR)."""
        return self.frames_for(name, self.viewer)

    def frames_for(self, name: str, viewer: Any) -> dict[str, pd.DataFrame]:
        """:meth:`frames` as ``viewer`` may see them (``None``: access control off, every row) — for a surface
        that serves several viewers from one Analysis (the app)."""
        spec = self._spec(name)
        sec = self.section(name)
        if any(f not in sec.frames for f in spec.personal_frames) and sec.result is None:
            # served from a cache entry that, under access control, holds no per-group pay: compute it now
            self._sections.pop(name, None)
            self._manifest_sections().pop(name, None)
            sec = self.section(name)
        if spec.restrict is not None and viewer is not None:
            return spec.restrict(dict(sec.frames), viewer, self)
        return sec.frames

    def notes(self, name: str) -> list[str]:
        return self.section(name).notes

    def figures(self, *names: str) -> list[Figure]:
        """Figures of the given sections (all available sections when none given), as the Analysis' ``viewer``
        may see them (:meth:`figures_for`); unavailable ones are skipped (see :meth:`unavailable`)."""
        return self.figures_for(self.viewer, *names)

    def figures_for(self, viewer: Any, *names: str) -> list[Figure]:
        """:meth:`figures` as ``viewer`` may see them (``None``: access control off): a section's
        ``restrict_figures`` withholds what the viewer may not read (e.g. a scheme's cost when it pays fewer
        than the viewer's ``min_group_size`` employees: value None, ``withheld`` the reason) — for a surface
        serving several viewers from one Analysis (the app, the report)."""
        out: list[Figure] = []
        for name in names or headline_sections():
            try:
                out.extend(self._section_figures(name, viewer))
            except CxError:
                continue
        return out

    def _section_figures(self, name: str, viewer: Any) -> list[Figure]:
        spec = self._spec(name)
        sec = self.section(name)
        if spec.restrict_figures is None or viewer is None:
            return list(sec.figures)
        return spec.restrict_figures(list(sec.figures), dict(sec.frames), viewer, self)

    def figure(self, figure_id: str) -> Figure:
        """The figure ``figure_id`` (computing its section: the id's first part), as the viewer may see it."""
        name = figure_id.split(".", 1)[0]
        for fig in self._section_figures(name, self.viewer):
            if fig.id == figure_id:
                return fig
        raise InputValueError(f"no figure {figure_id!r} in section {name!r}", argument="figure_id")

    # -------------------------------------------------------------------------------------- assumptions
    def resolved(self, key: str, compute: Callable[[], Any]) -> Any:
        """A resolved assumption (e.g. the ``as_of`` month), computed once and shown with the assumptions."""
        if key not in self._resolved:
            stored = (self._manifest or {}).get("resolved", {}).get(key)
            if stored is not None:
                self._resolved[key] = _decode_resolved(stored)
            else:
                with self._engine_lock():
                    if key not in self._resolved:
                        self._resolved[key] = compute()
        return self._resolved[key]

    def assumptions_dict(self) -> dict[str, Any]:
        """Assumptions as used: the configured ones, what they resolved to, and the economics they rely on."""
        from cx_framework.analysis import sections as s

        a = self.assumptions
        econ = self.config.economics
        out: dict[str, Any] = {}
        # the same key means the same data, config and assumptions: what the entry resolved still holds
        cached = (self._manifest or {}).get("assumptions")
        if cached:
            return dict(cached)
        out["current_scheme"] = s.current_scheme(self)
        out["as_of"] = s.as_of_text(self)
        out["as_of_rule"] = a.as_of
        out["forecast_window"] = s.forecast_window_text(self)
        out["baseline_months"] = a.baseline_months
        out["service_level_definition"] = a.service_level_definition
        out["service_level_target"] = econ.service_level_target
        out["answer_s"] = econ.answer_s
        out["shrinkage"] = econ.shrinkage
        out["hours_per_fte_week"] = econ.hours_per_fte_week
        out["retention_model"] = a.retention_model
        out["retention_dose"] = a.retention_dose
        out["retention_lag"] = a.retention_lag
        out["sla_lead_times"] = a.sla_lead_times
        out["sl_draws"] = a.sl_draws
        out["evidence_draws"] = a.evidence_draws
        out["behaviour_draws"] = a.behaviour_draws
        out["effort_budget"] = a.effort_budget
        out["seed"] = a.seed
        out["currency"] = econ.currency
        return out

    def assumptions_lines(self) -> list[str]:
        """Human-readable lines of :meth:`assumptions_dict` (CLI footer, app panel, report section)."""
        from cx_framework.analysis.sections import ASSUMPTION_LABELS

        d = self.assumptions_dict()
        lines = []
        for key, label in ASSUMPTION_LABELS.items():
            if key not in d:
                continue
            value = d[key]
            if key in ("service_level_target", "shrinkage", "effort_budget") and isinstance(
                value, int | float
            ):
                value = f"{value:.0%}"
            elif key == "answer_s":
                value = f"{value:g} s"
            elif key == "current_scheme" and value is None:
                value = "not set"
            lines.append(f"{label}: {value}")
        return lines

    # -------------------------------------------------------------------------------------- JSON
    def to_json(self, *names: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The CLI ``--json`` document: ``figures``, ``assumptions``, ``unavailable`` (+ ``extra`` keys)."""
        figures = [f.to_json() for f in self.figures(*names)]
        unavailable = self.unavailable(*names) if names else self.unavailable()
        doc: dict[str, Any] = {
            "figures": figures,
            "assumptions": _jsonable(self.assumptions_dict()),
            "unavailable": unavailable,
            "computed_at": self.created_at.isoformat(timespec="seconds"),
        }
        for k, v in (extra or {}).items():
            doc[k] = _jsonable(v)
        return doc

    # -------------------------------------------------------------------------------------- disk cache
    def _entry(self) -> Path | None:
        return self.cache_dir / self.key if self.cache_dir is not None else None

    def _open_cache(self) -> None:
        entry = self._entry() if self.cache_dir is not None and self._data_stamp is not None else None
        if entry is None:
            return
        manifest = entry / "manifest.json"
        if not manifest.is_file():
            return
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if data.get("key") != self.key or data.get("format") != CACHE_FORMAT:
            return
        self._manifest = data
        self.created_at = datetime.fromisoformat(data["created_at"])
        self.from_cache = True
        if not self.cache_personal:
            self._forget_personal(entry)

    def _forget_personal(self, entry: Path) -> None:
        """Under access control, remove individual pay that an access-off process kept in this entry (the key
        does not depend on access.yaml): the personal sections' pickles and per-group frames."""
        from cx_framework.io import write_text_atomic

        changed = False
        for name, info in self._manifest_sections().items():
            spec = SECTIONS.get(name)
            if spec is None or not spec.personal:
                continue
            gone = [f for f in info.get("frames", []) if f in spec.personal_frames]
            if not info.get("result") and not gone:
                continue
            with contextlib.suppress(OSError):
                (entry / f"{name}.pkl").unlink(missing_ok=True)
                for f in gone:
                    (entry / f"{name}.{f}.parquet").unlink(missing_ok=True)
            info["result"] = False
            info["frames"] = [f for f in info.get("frames", []) if f not in gone]
            changed = True
        if changed:
            with contextlib.suppress(OSError, CxError):
                write_text_atomic(
                    entry / "manifest.json", json.dumps(self._manifest, indent=1, default=str), mode=0o600
                )

    def _manifest_sections(self) -> dict[str, Any]:
        if self._manifest is None:
            return {}
        sections: dict[str, Any] = self._manifest.setdefault("sections", {})
        return sections

    def _cached_section(self, name: str) -> SectionResult | None:
        entry = self._entry()
        info = self._manifest_sections().get(name)
        if info is None or entry is None:
            return None
        currency = self.config.economics.currency
        try:
            frames = {f: pd.read_parquet(entry / f"{name}.{f}.parquet") for f in info.get("frames", [])}
        except (OSError, ValueError):
            return None
        figures = [
            Figure.from_json(f, fmt=f.get("format"), currency=currency) for f in info.get("figures", [])
        ]
        return SectionResult(result=None, figures=figures, frames=frames, notes=list(info.get("notes", [])))

    def _load_result(self, name: str) -> Any:
        entry = self._entry()
        info = self._manifest_sections().get(name) or {}
        if entry is None or not info.get("result"):
            return None
        try:
            with (entry / f"{name}.pkl").open("rb") as fh:
                loaded = pickle.load(fh)  # noqa: S301 - our own cache entry, keyed by content hash (module docstring)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        unpack = self._spec(name).unpack
        return unpack(loaded, self) if unpack is not None else loaded

    def _save_section(self, name: str, sec: SectionResult) -> None:
        from cx_framework.io import write_bytes_atomic, write_text_atomic

        entry = self._entry()
        if entry is None:
            return
        spec = self._spec(name)
        private = (
            spec.personal and not self.cache_personal
        )  # individual pay stays in memory (module docstring)
        try:
            _private_dir(entry)
            saved_frames = []
            for fname, frame in sec.frames.items():
                if private and fname in spec.personal_frames:
                    continue
                buffer = _parquet_bytes(frame)
                if buffer is not None:
                    write_bytes_atomic(entry / f"{name}.{fname}.parquet", buffer, mode=0o600)
                    saved_frames.append(fname)
            has_result = False
            if sec.result is not None and not private:
                pack = self._spec(name).pack
                packed = pack(sec.result, self) if pack is not None else sec.result
                with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError, RecursionError):
                    write_bytes_atomic(entry / f"{name}.pkl", pickle.dumps(packed, protocol=5), mode=0o600)
                    has_result = True
            if self._manifest is None:
                _prune(entry.parent, int(os.environ.get("CX_CACHE_MAX_ENTRIES", "8")) - 1)
                self._manifest = {
                    "key": self.key,
                    "format": CACHE_FORMAT,
                    "created_at": self.created_at.isoformat(),
                    "sections": {},
                }
            self._manifest["sections"][name] = {
                "figures": [{**f.to_json(), "format": f.format} for f in sec.figures],
                "notes": sec.notes,
                "frames": saved_frames,
                "result": has_result,
                "saved_at": datetime.now(UTC).isoformat(),
            }
            resolved = {k: _encode_resolved(v) for k, v in self._resolved.items()}
            self._manifest.setdefault("resolved", {}).update(
                {k: v for k, v in resolved.items() if v is not None}
            )
            if self._tables is not None:
                self._manifest["table_problems"] = self.table_problems
                with contextlib.suppress(CxError):
                    self._manifest["assumptions"] = _jsonable(self.assumptions_dict())
            write_text_atomic(
                entry / "manifest.json", json.dumps(self._manifest, indent=1, default=str), mode=0o600
            )
        except OSError as exc:  # a full or read-only disk must not break the analysis itself
            warnings.warn(f"analysis cache not written to {entry}: {exc}", RuntimeWarning, stacklevel=3)

    def compute_all(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Compute every section (or ``names``); returns the unavailable ones with their reason."""
        for name in names or headline_sections():
            with contextlib.suppress(CxError):
                self.section(name)
        return self.unavailable(*(names or ()))

    def _repr_html_(self) -> str:
        """Notebook card: the headline figures of the sections computed so far (nothing is computed for the
        display), the sections that could not run and why, and the assumptions once data is loaded."""
        from cx_framework._display import figure_rows, html_card

        figures: list[Figure] = []
        done = []
        for name in headline_sections():
            sec = self._sections.get(name)
            if sec is not None:
                figures.extend(sec.figures)
                done.append(self._spec(name).label)
        pending = [
            self._spec(n).label
            for n in headline_sections()
            if n not in self._sections and n not in self._failed
        ]
        caveats = [f"{self._spec(n).label}: {why}" for n, why in self._failed.items() if n in SECTIONS]
        notes = [note for n in headline_sections() if n in self._sections for note in self._sections[n].notes]
        caveats += notes
        text = (
            f"Sections computed: {', '.join(done)}."
            if done
            else "No section computed yet: call .compute_all(), .figures() or .result(name)."
        )
        if pending and done:
            text += f" Not computed yet: {', '.join(pending)}."
        table = None
        if self._sections:
            pairs = [line.split(": ", 1) for line in self.assumptions_lines()]
            table = pd.DataFrame(
                {"Assumption": [p[0] for p in pairs], "Value": [p[1] if len(p) > 1 else "" for p in pairs]}
            )
        return html_card(
            "Analysis",
            text=text,
            figures=figure_rows(figures),
            table=table,
            table_title="Assumptions",
            max_rows=20,
            caveats=caveats,
        )

    def __repr__(self) -> str:
        done = ", ".join(self._sections) or "none yet"
        return f"Analysis(key={self.key}, sections computed: {done})"


class _Unavailable(InputValueError):
    """A section cannot run on this data (a table it needs is missing or invalid)."""

    def __init__(self, message: str, *, section: str) -> None:
        super().__init__(message, argument=section)
        self.section = section


#: Tables holding individual pay: never kept in the disk cache under access control (``base_salary``).
PAY_TABLES: tuple[str, ...] = ("employees",)


def personal_cache_allowed(config: Any, viewer: Any = None) -> bool:
    """Whether individual pay may be written to the disk cache for ``config`` (a CxConfig): True only with
    access control off — no ``viewer`` and no access file for its directory (module docstring). Surfaces that
    build their own :class:`LazyTables` with a ``cache_dir`` pass ``private=PAY_TABLES`` when this is False."""
    return _cache_personal(None, config, viewer)


def _cache_personal(given: bool | None, config: Any, viewer: Any) -> bool:
    """``given``, else True only with access control off: no viewer and no access file for the configs."""
    if given is not None:
        return given
    if viewer is not None:
        return False
    from cx_framework.access import find_access_file

    return find_access_file(getattr(config, "directory", None)) is None


def _private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by its owner only; tighten it when it exists with wider bits."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


def _parquet_bytes(frame: pd.DataFrame) -> bytes | None:
    import io

    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            sample = out[c].dropna()
            if len(sample) and sample.map(lambda v: isinstance(v, dict | list | tuple | set)).any():
                out[c] = out[c].map(lambda v: json.dumps(v, default=str) if v is not None else None)
    out.columns = [str(c) for c in out.columns]
    buffer = io.BytesIO()
    try:
        out.to_parquet(buffer, index=not isinstance(out.index, pd.RangeIndex))
    except (ValueError, TypeError, ImportError, OverflowError):
        return None
    return buffer.getvalue()


def _encode_resolved(value: Any) -> dict[str, Any] | None:
    """A resolved assumption as stored in the manifest (a month, a scheme id), or None for what is not kept
    there (frames: the forecast window's intervals are recomputed from the data when a section needs them)."""
    if isinstance(value, pd.Timestamp):
        return {"timestamp": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return {"value": value}
    return None


def _decode_resolved(stored: Mapping[str, Any]) -> Any:
    if "timestamp" in stored:
        return pd.Timestamp(stored["timestamp"])
    return stored.get("value")


def headline_sections() -> tuple[str, ...]:
    """Names of the sections whose figures make up "every figure" (surfaces iterate these)."""
    return tuple(name for name, spec in SECTIONS.items() if spec.headline)


def _jsonable(value: Any) -> Any:
    import math

    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
