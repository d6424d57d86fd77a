"""A seeded synthetic organisation with planted ground truth.

``generate_organisation`` builds every table of the data contract for a subscription business with a contact
centre, billing, fulfilment, sales and marketing, consistent with each other (phone contacts roll up exactly to
``intervals``; ``employee_metrics`` roll up to the team rows of ``department_metrics``), and plants known effects
that the analyses must recover:

* **SL → churn**: next-month churn log-odds fall by ``truth.sl_churn_log_odds`` per +1.0 of the share of the
  customer's calls answered within 20 s (only in months in which the customer called).
* **Failure demand**: contact reasons are drawn with fixed probabilities; reasons caused by another department's
  failure (``configs/failure_demand.yaml``) give ``truth.failure_demand_shares`` per originating department, with the
  confusing bill (billing) the dominant source. Repeat contacts copy the reason of the unresolved contact they follow
  and resolution does not depend on the reason, so the expected share by reason is the same among all contacts.
* **Incentive gaming** under the ``siloed`` scheme: agents who chase short handle times resolve fewer contacts
  (``truth.aht_fcr_slope``); back-office staff who chase product sales take fewer customer calls
  (``truth.sales_calls_taken_slope``); in the misaligned departments (billing, sales) months in which the department
  pushes its own numbers are months in which its customers fare worse (low empirical scorecard alignment). Paid on
  their own numbers, they push every month (mean push ``_GAMING_PUSH`` s.d.), so in most months they are green on
  their own card and red on the customers' one ("green inside, red outside") — in any month, the last included.

No month is special: customers join all through the window at about the rate they churn (a steady base), contact
counts scale with the length of the month, and the final month is drawn like every other.

Waits are drawn from the Erlang C model of each interval's offered load and staffing (with exponential patience), so
interval service levels follow the staffing; some months are deliberately under-budgeted.

Streaming: the organisation is generated month by month from per-month random streams (and per-block streams for
the customers' attributes, ``numpy.random.SeedSequence(seed)``), so a seed gives the same tables whether they are
collected in memory (:func:`generate_organisation`) or written straight to Parquet (:func:`write_organisation`,
what ``cx generate`` runs). Only per-customer state and small monthly totals outlive a month, so writing 10 M
customers x 24 months (~170 M contacts) stays within 4 GB resident (``python -m benchmarks.bench_synthetic``).
Within a month the contacts and work items are numpy arrays (integer codes, int64-nanosecond times) rolled up with
``np.bincount``; string columns are formatted into Arrow buffers only when a piece is handed to the writer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from cx_framework._compat import ARROW_TEXT_DTYPE
from cx_framework._tables import REQUIRED_TABLES

__all__ = [
    "SyntheticOrg",
    "Truth",
    "generate_organisation",
    "write_organisation",
    "load_sample",
    "SAMPLE_DIR",
    "TABLE_NAMES",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
TABLE_NAMES = REQUIRED_TABLES  # the data contract's input tables, in its order

# reason -> (probability among first contacts, queue, mean handle factor)
_REASONS: dict[str, tuple[float, str, float]] = {
    "new_order": (0.08, "sales", 1.3),
    "change_of_service": (0.12, "general", 1.0),
    "technical_help": (0.20, "general", 1.2),
    "cancel_request": (0.05, "sales", 1.1),
    "payment_arrangement": (0.07, "billing", 0.9),
    "bill_query": (0.20, "billing", 1.0),
    "billing_error": (0.07, "billing", 1.1),
    "order_chase": (0.08, "general", 0.8),
    "missed_appointment": (0.04, "general", 0.9),
    "not_as_sold": (0.05, "sales", 1.0),
    "offer_confusion": (0.04, "general", 0.9),
}
_FAILURE_ORIGIN = {
    "bill_query": "billing",
    "billing_error": "billing",
    "order_chase": "fulfilment",
    "missed_appointment": "fulfilment",
    "not_as_sold": "sales",
    "offer_confusion": "marketing",
}
_REASON_ORIGIN = {
    "new_order": "sales",
    "change_of_service": "fulfilment",
    "technical_help": "contact_centre",
    "cancel_request": "sales",
    "payment_arrangement": "billing",
    **_FAILURE_ORIGIN,
}
_QUEUES = ("general", "billing", "sales")
_DEPARTMENTS = {
    # department -> (share of headcount, teams, main role, base salary)
    "contact_centre": (0.62, ("cc_north", "cc_south", "cc_east", "cc_west"), "agent", 27_000.0),
    "billing": (0.12, ("billing_ops", "billing_disputes"), "billing_specialist", 31_000.0),
    "fulfilment": (0.12, ("orders", "provisioning"), "fulfilment_specialist", 30_000.0),
    "sales": (0.10, ("inbound_sales", "retention_desk"), "sales_rep", 29_000.0),
    "marketing": (0.04, ("product", "campaigns"), "product_manager", 48_000.0),
}
_MISALIGNED = ("billing", "sales")
_JOURNEYS = {
    # journey -> (trigger reasons, probability a trigger contact opens one, stages (stage, department, shape, scale_h,
    # handoff mean_h), promise hours)
    "billing_dispute": (
        ("bill_query", "billing_error"),
        0.12,
        (
            ("intake", "contact_centre", 2.0, 5.0, 0.0),
            ("investigation", "billing", 3.0, 22.0, 10.0),
            ("adjustment", "billing", 2.0, 10.0, 8.0),
        ),
    ),
    "order_change": (
        ("new_order", "change_of_service"),
        0.25,
        (
            ("order_capture", "sales", 2.0, 1.5, 0.0),
            ("provisioning", "fulfilment", 2.5, 14.0, 12.0),
            ("activation", "fulfilment", 2.0, 10.0, 6.0),
        ),
    ),
}
_STAGE_SLA_H = {
    "intake": 24,
    "investigation": 120,
    "adjustment": 48,
    "order_capture": 8,
    "provisioning": 72,
    "activation": 48,
}
_PROMISE_H = {"billing_dispute": 168, "order_change": 96}
_INTERVAL_S = 1800
_OPEN_HOUR, _CLOSE_HOUR = 8, 20
_THRESHOLD_S = 20.0
_DAYS_PER_MONTH = 365.25 / 12
_MONTHLY_CHURN = 0.013  # about the base's churn rate per month at the planted logit (used to balance joins)
_GAMING_PUSH = (
    1.5  # mean monthly push (in s.d. of the month-to-month push) of a misaligned department, siloed
)


@dataclass(frozen=True)
class Truth:
    """Effects planted by the generator (what the analyses must recover)."""

    sl_churn_log_odds: float
    base_churn_log_odds: float
    segment_churn_log_odds: dict[str, float]
    failure_demand_shares: dict[str, float]
    dominant_failure_source: str
    misaligned_departments: tuple[str, ...]
    aht_fcr_slope: float
    sales_calls_taken_slope: float
    conflicting_component: tuple[str, str]
    seed: int = 0
    scheme: str = "siloed"
    notes: dict[str, str] = field(default_factory=dict)
    #: ``"source -> target"`` -> elasticity planted on that causal-graph edge (empty unless ``plant_graph``)
    graph_elasticities: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Truth:
        data = json.loads(text)
        data["misaligned_departments"] = tuple(data["misaligned_departments"])
        data["conflicting_component"] = tuple(data["conflicting_component"])
        return cls(**data)


@dataclass(frozen=True)
class SyntheticOrg:
    """Every table of the data contract plus the planted :class:`Truth`."""

    intervals: pd.DataFrame
    contacts: pd.DataFrame
    customers: pd.DataFrame
    employees: pd.DataFrame
    employee_metrics: pd.DataFrame
    department_metrics: pd.DataFrame
    work_items: pd.DataFrame
    truth: Truth

    def tables(self) -> dict[str, pd.DataFrame]:
        """Table name -> frame, in data-contract order."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def write(self, directory: str | Path, *, compression_level: int = 19) -> None:
        """Write each table as ``<name>.parquet`` and the truth as ``truth.json`` (atomically, file by file).

        Timestamps are written in microseconds (Spark rejects nanosecond Parquet timestamps). zstd at a high level
        keeps the committed sample small (it is written once, read often).
        """
        sink = _ParquetSink(Path(directory), compression_level=compression_level)
        try:
            for name, frame in self.tables().items():
                sink.add(name, frame)
        except BaseException:
            sink.abort()
            raise
        sink.close(self.truth)


def load_sample(directory: str | Path | None = None, *, validate: bool = True) -> SyntheticOrg:
    """Load the committed sample organisation (``data/sample``) as a :class:`SyntheticOrg`.

    The sample was made with ``cx generate data/sample --customers 12000 --seed 0`` (12k customers keeps it under 5 MB).
    """
    from cx_framework.io import load_data_dir

    directory = Path(directory) if directory is not None else SAMPLE_DIR
    if validate:
        frames = load_data_dir(directory)
    else:
        frames = {name: _as_ns(pd.read_parquet(directory / f"{name}.parquet")) for name in TABLE_NAMES}
    truth = Truth.from_json((directory / "truth.json").read_text(encoding="utf-8"))
    return SyntheticOrg(**{name: frames[name] for name in TABLE_NAMES}, truth=truth)


def _as_ns(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ``datetime64[ns]`` (the files hold microseconds; the frames use nanoseconds)."""
    for col in frame.columns:
        if pd.api.types.is_datetime64_dtype(frame[col].dtype) and frame[col].dtype != np.dtype(
            "datetime64[ns]"
        ):
            frame[col] = frame[col].astype("datetime64[ns]")
    return frame


# ------------------------------------------------------------------------------------------------ Erlang C
def _erlang_sl(calls: np.ndarray, aht_s: np.ndarray, agents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(wait) and the exponential rate of the conditional wait (per second) under Erlang C.

    Erlang B from the Poisson pmf/cdf ratio (stable, no factorials); C = B / (1 − ρ(1 − B)).
    Intervals with agents ≤ traffic get P(wait) = 1 and a tiny rate (the queue grows without bound).
    """
    traffic = calls * aht_s / _INTERVAL_S
    b = stats.poisson.pmf(agents, traffic) / np.maximum(stats.poisson.cdf(agents, traffic), 1e-300)
    rho = np.where(agents > 0, traffic / np.maximum(agents, 1), np.inf)
    stable = agents > traffic
    c = np.where(stable, b / (1.0 - rho * (1.0 - b)), 1.0)
    rate = np.where(stable, (agents - traffic) / aht_s, 1.0 / (4.0 * aht_s))
    return np.clip(c, 0.0, 1.0), rate


def _agents_for_target(calls: np.ndarray, aht_s: np.ndarray, target: float = 0.8) -> np.ndarray:
    """Smallest N with Erlang-C SL(20 s) ≥ target, by a vectorised upward search from ⌊A⌋+1."""
    traffic = calls * aht_s / _INTERVAL_S
    n = np.floor(traffic) + 1.0
    todo = calls > 0
    for _ in range(200):
        if not todo.any():
            break
        pw, rate = _erlang_sl(calls[todo], aht_s[todo], n[todo])
        sl = 1.0 - pw * np.exp(-rate * _THRESHOLD_S)
        ok = sl >= target
        idx = np.flatnonzero(todo)
        n[idx[~ok]] += 1
        todo[idx[ok]] = False
    return np.where(calls > 0, n, 0.0)


# ------------------------------------------------------------------------------------------------ internals
# Within a month the contacts and work items live as plain numpy arrays (integer codes for every string, int64
# nanoseconds for every time); string columns are built as fixed-width Arrow buffers when a piece is written.
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_NAT = np.iinfo(np.int64).min
_STR = ARROW_TEXT_DTYPE
_REASON_LIST = tuple(_REASONS)
_REASON_PROB = np.array([v[0] for v in _REASONS.values()])
_REASON_QUEUE = np.array([_QUEUES.index(v[1]) for v in _REASONS.values()], dtype=np.int8)
_REASON_FACTOR = np.array([v[2] for v in _REASONS.values()])
_CHANNELS = ("phone", "email", "chat")
_DEPT_LIST = tuple(_DEPARTMENTS)
_REASON_DEPT = np.array([_DEPT_LIST.index(_REASON_ORIGIN[r]) for r in _REASON_LIST], dtype=np.int8)
_JOURNEY_LIST = tuple(_JOURNEYS)
_STAGE_LIST = tuple(s[0] for j in _JOURNEYS.values() for s in j[2])
_STAGE_SLA_ARR = np.array([float(_STAGE_SLA_H[s]) for s in _STAGE_LIST])
_PROMISE_ARR = np.array([float(_PROMISE_H[j]) for j in _JOURNEY_LIST])
_SEGMENTS = ("consumer", "small_business", "premium")
_PRODUCTS = ("broadband", "mobile", "bundle")
_SLOTS = (_CLOSE_HOUR - _OPEN_HOUR) * 3600 // _INTERVAL_S
_DEFAULT_AHT = np.array([380.0, 360.0, 440.0])  # general, billing, sales (order of _QUEUES)


_DIGITS4 = np.array([list(f"{i:04d}".encode("ascii")) for i in range(10_000)], dtype=np.uint8).view(np.uint32)


def _id_bytes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray | None:
    """Rows of ``prefix`` + zero-padded ``numbers`` as an ``(n, len(prefix) + width)`` uint8 array.

    Four digits at a time from a 10,000-entry lookup table (a few vectorised passes instead of ``np.char`` on
    millions of Python-level strings). ``None`` when a number falls outside ``[0, 10**width)`` (not fixed width).
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    if n and (numbers.min() < 0 or numbers.max() >= 10**width):
        return None
    p = len(prefix)
    buf = np.empty((n, p + width), dtype=np.uint8)
    buf[:, :p] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    x = numbers.copy()
    j = p + width
    while j > p:
        k = min(4, j - p)
        buf[:, j - k : j] = _DIGITS4[x % 10_000].view(np.uint8).reshape(n, 4)[:, 4 - k :]
        x //= 10_000
        j -= k
    return buf


def _bytes_series(buf: np.ndarray) -> pd.Series:
    """Fixed-width ASCII rows -> pandas ``str`` Series backed by one Arrow buffer (no per-string objects)."""
    buf = np.ascontiguousarray(buf)
    n, w = buf.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    arr = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    return pd.Series(arr, dtype=_STR)


def _sequential_id_bytes(prefix: str, n: int, width: int) -> np.ndarray | None:
    """:func:`_id_bytes` of ``0 .. n-1``: each 4-digit group is a repeated/tiled run of the lookup table."""
    if n >= 10**width:
        return None
    p = len(prefix)
    buf = np.empty((n, p + width), dtype=np.uint8)
    buf[:, :p] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    j, period = p + width, 1
    while j > p:
        k = min(4, j - p)
        blocks = -(-n // period)  # groups of `period` consecutive numbers share this digit group
        group = np.repeat(_DIGITS4[np.arange(blocks) % 10_000], period)[:n]
        buf[:, j - k : j] = group.view(np.uint8).reshape(n, 4)[:, 4 - k :]
        period *= 10_000
        j -= k
    return buf


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """``prefix`` + zero-padded ``numbers`` (``np.char.zfill`` semantics: at least ``width`` digits, more when a
    number needs them) as a pandas ``str`` Series backed by one Arrow buffer."""
    numbers = np.asarray(numbers, dtype=np.int64)
    buf = _id_bytes(prefix, numbers, width)
    if buf is not None:
        return _bytes_series(buf)
    if len(numbers) and numbers.min() < 0:
        return pd.Series(np.char.add(prefix, np.char.zfill(numbers.astype(str), width)), dtype=_STR)
    # wider numbers (e.g. the 100,000,000th contact): one fixed-width pass per digit count, scattered into place
    digits = np.maximum(width, np.searchsorted(10 ** np.arange(19, dtype=np.int64), numbers, side="right"))
    lengths = len(prefix) + digits
    offsets = np.zeros(len(numbers) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for w in np.unique(digits):
        rows = np.flatnonzero(digits == w)
        part = _id_bytes(prefix, numbers[rows], int(w))
        assert part is not None  # every number in the group has exactly w digits
        data[offsets[rows][:, None] + np.arange(part.shape[1])] = part
    arr = pa.Array.from_buffers(
        pa.large_string(), len(numbers), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return pd.Series(arr, dtype=_STR)


def _sequential_ids(prefix: str, n: int, width: int, *, first: int = 0) -> pd.Series:
    """``_ids(prefix, np.arange(first, first + n), width)``; faster from 0 (no per-row division)."""
    buf = _sequential_id_bytes(prefix, n, width) if first == 0 else None
    return _ids(prefix, np.arange(first, first + n), width) if buf is None else _bytes_series(buf)


def _customer_ids_of(cidx: np.ndarray, id_rows: np.ndarray | None) -> pd.Series:
    """Customer ids of many rows: gather the fixed-width rows of ``_sequential_id_bytes("C", customers, 7)``
    (formatted once per run; ``None`` past 10 M customers, when ids are formatted per row)."""
    if id_rows is None:
        return _customer_ids(cidx)
    rows = id_rows.view(np.dtype((np.void, id_rows.shape[1]))).ravel()
    return _bytes_series(rows[cidx].view(np.uint8).reshape(len(cidx), id_rows.shape[1]))


def _labels(categories: tuple[str, ...] | np.ndarray, codes: np.ndarray) -> pd.Series:
    """``categories[codes]`` as a pandas ``str`` Series; negative codes become missing values."""
    codes = np.asarray(codes)
    missing = codes < 0
    idx = pa.array(codes.astype(np.int64), mask=missing if missing.any() else None)
    arr = pa.array([str(c) for c in categories], type=pa.large_string()).take(idx)
    return pd.Series(arr, dtype=_STR)


def _month_index(ns: np.ndarray, bounds_ns: np.ndarray) -> np.ndarray:
    """Index of the month of int64-nanosecond times inside the window (``bounds_ns``: month starts + window end)."""
    return np.searchsorted(bounds_ns, ns, side="right") - 1


def _per_period(
    index: pd.DatetimeIndex, counts: np.ndarray, sums: np.ndarray | None = None, *, mean: bool = True
) -> pd.Series:
    """A group-by-period result restricted to the periods with rows (as pandas' ``groupby`` gives it).

    ``sums is None``: the row counts (``size``); ``mean``: sums / counts; otherwise the sums themselves. Sums here
    are of integers and booleans (exact in float64), so they equal pandas' compensated group sums bit for bit.
    """
    present = counts > 0
    if sums is None:
        return pd.Series(counts[present].astype(np.int64), index=index[present])
    values = sums[present] / counts[present] if mean else sums[present]
    return pd.Series(values, index=index[present])


# ------------------------------------------------------------------------------------------------ generator
def generate_organisation(
    seed: int = 0,
    customers: int = 20_000,
    employees: int = 400,
    months: int = 24,
    *,
    start: str = "2024-01-01",
    scheme: str = "siloed",
    contact_rate: float = 0.8,
    sl_churn_log_odds: float = -2.0,
    plant_graph: bool | object = False,
    progress: object | None = None,
) -> SyntheticOrg:
    """Generate a synthetic organisation with planted effects, in memory.

    Parameters
    ----------
    seed : int
        Seed of the random streams; the same seed gives identical tables (in memory and written).
    customers : int
        Number of customers ever active in the window (some join during it).
    employees : int
        Headcount across the five departments (≥ 40).
    months : int
        Number of monthly periods (≥ 3).
    start : str
        First month (month start).
    scheme : str
        Incentive regime the history was generated under: ``siloed`` (gaming planted) or ``shared_customer``
        (no gaming: AHT focus and sales focus are zero).
    contact_rate : float
        Mean first contacts per customer per month of average length (365.25 / 12 days; all channels).
    sl_churn_log_odds : float
        Planted change in next-month churn log-odds per +1.0 of experienced service level.
    plant_graph : bool or CausalGraph
        Plant known elasticities on the causal graph's edges (``True``: ``configs/causal_graph.yaml``; or a
        :class:`~cx_framework.config.models.CausalGraph`). The month-to-month variation of every graph target in
        ``department_metrics`` (and of the employee rows under a planted team row) is then a log-linear structural
        equation of its graph parents, see :func:`_plant_graph`; ``truth.graph_elasticities`` records the values.
        ``False`` (default) leaves the tables exactly as without the option (the committed sample).
    progress : callable, optional
        ``progress(step: str, fraction: float)`` called as the generator advances (the CLI shows a bar).

    Returns
    -------
    SyntheticOrg

    Notes
    -----
    The same month-by-month generator as :func:`write_organisation`, collecting the pieces instead of writing them
    (identical tables for a seed). Holding every table needs about 1.7 GB per million customers over 24 months;
    beyond a few million customers write to disk with :func:`write_organisation` (bounded memory).
    """
    sink = _MemorySink()
    truth = _generate(
        sink,
        seed=seed,
        customers=customers,
        employees=employees,
        months=months,
        start=start,
        scheme=scheme,
        contact_rate=contact_rate,
        sl_churn_log_odds=sl_churn_log_odds,
        plant_graph=plant_graph,
        progress=progress,
    )
    return SyntheticOrg(**sink.frames(), truth=truth)


def write_organisation(
    directory: str | Path,
    seed: int = 0,
    customers: int = 20_000,
    employees: int = 400,
    months: int = 24,
    *,
    start: str = "2024-01-01",
    scheme: str = "siloed",
    contact_rate: float = 0.8,
    sl_churn_log_odds: float = -2.0,
    plant_graph: bool | object = False,
    progress: object | None = None,
    compression_level: int | None = None,
) -> dict[str, int]:
    """Generate a synthetic organisation straight into ``directory`` (``<table>.parquet`` + ``truth.json``).

    Contacts and work items are generated, written and dropped one month at a time, so resident memory grows with
    the number of customers (a few hundred bytes each), not with the number of contacts: 10 M customers x 24 months
    (~170 M contacts) stay within 4 GB. Each file appears atomically when complete; timestamps are microseconds
    (readable by Spark). The tables equal :func:`generate_organisation`'s for the same arguments.

    Parameters
    ----------
    directory : str or path-like
        Output folder (created).
    seed, customers, employees, months, start, scheme, contact_rate, sl_churn_log_odds, plant_graph, progress
        As in :func:`generate_organisation`.
    compression_level : int, optional
        zstd level; default 19 up to 100k customers (the small committed sample), 3 above (fast for big runs).

    Returns
    -------
    dict
        Rows written per table.
    """
    if compression_level is None:
        compression_level = 19 if customers <= 100_000 else 3
    sink = _ParquetSink(Path(directory), compression_level=compression_level)
    try:
        truth = _generate(
            sink,
            seed=seed,
            customers=customers,
            employees=employees,
            months=months,
            start=start,
            scheme=scheme,
            contact_rate=contact_rate,
            sl_churn_log_odds=sl_churn_log_odds,
            plant_graph=plant_graph,
            progress=progress,
        )
    except BaseException:
        sink.abort()
        raise
    return sink.close(truth)


# ------------------------------------------------------------------------------------------------ sinks
class _MemorySink:
    """Collects the pieces of every table; ``frames()`` concatenates them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_NAMES}

    def add(self, table: str, frame: pd.DataFrame) -> None:
        self.parts[table].append(frame)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            name: parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
            for name, parts in self.parts.items()
        }


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table with microsecond timestamps (Spark rejects nanosecond Parquet timestamps)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(f.name, pa.timestamp("us"), f.nullable) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    # every generated time is a whole second (or minute), so the cast never truncates
    return table.cast(pa.schema(fields, metadata=table.schema.metadata), safe=True)


class _ParquetSink:
    """Appends each piece of a table to ``.<table>.parquet.tmp`` (row groups); ``close`` renames them into place."""

    def __init__(self, directory: Path, *, compression_level: int) -> None:
        import pyarrow.parquet as pq

        self._pq = pq
        self.directory = directory
        self.level = compression_level
        self.writers: dict[str, object] = {}
        self.schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = dict.fromkeys(TABLE_NAMES, 0)

    def _tmp(self, table: str) -> Path:
        return self.directory / f".{table}.parquet.tmp"

    def add(self, table: str, frame: pd.DataFrame) -> None:
        arrow = _arrow_table(frame)
        if table not in self.writers:
            if not self.writers:  # created with the first piece: bad arguments leave no folder behind
                try:
                    self.directory.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    from cx_framework.errors import CxError

                    raise CxError(f"Cannot create directory {self.directory}: {exc.strerror}.") from None
            self.schemas[table] = arrow.schema
            self.writers[table] = self._pq.ParquetWriter(
                self._tmp(table), arrow.schema, compression="zstd", compression_level=self.level
            )
        else:
            arrow = arrow.cast(self.schemas[table])
        self.writers[table].write_table(arrow, row_group_size=1 << 20)  # type: ignore[attr-defined]
        self.rows[table] += len(frame)

    def close(self, truth: Truth) -> dict[str, int]:
        import os

        from cx_framework.io import write_text_atomic

        for writer in self.writers.values():
            writer.close()  # type: ignore[attr-defined]
        for table in self.writers:
            tmp = self._tmp(table)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.directory / f"{table}.parquet")
        write_text_atomic(self.directory / "truth.json", truth.to_json())
        return dict(self.rows)

    def abort(self) -> None:
        import contextlib

        for table, writer in self.writers.items():
            with contextlib.suppress(Exception):
                writer.close()  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):
                self._tmp(table).unlink()


# ------------------------------------------------------------------------------------------------ the generator
_CUSTOMER_BLOCK = 1 << 20  # customers per attribute block (each block has its own random stream)
_WRITE_ROWS = 1 << 21  # contact rows formatted into strings and handed to the sink at a time
_CONTACT_COLUMNS = (
    "contact_id",
    "customer_id",
    "timestamp",
    "channel",
    "queue",
    "reason",
    "wait_s",
    "handle_s",
    "abandoned",
    "resolved_first_contact",
    "agent_id",
)


def _generate(
    sink: _MemorySink | _ParquetSink,
    *,
    seed: int,
    customers: int,
    employees: int,
    months: int,
    start: str,
    scheme: str,
    contact_rate: float,
    sl_churn_log_odds: float,
    plant_graph: bool | object,
    progress: object | None,
) -> Truth:
    """Generate month by month, handing every table to ``sink`` in pieces; return the planted truth.

    Random streams (``numpy.random.SeedSequence(seed)``): one for the organisation (employees, monthly pushes and
    budgets, agents, metric noise), one per block of customers (their attributes) and one per month (that month's
    contacts, service, churn, work items and survey answers). Only per-customer state (a few arrays of
    ``customers`` entries) and small per-month totals outlive a month.
    """
    from cx_framework.errors import InputValueError

    if customers < 100:
        raise InputValueError(f"customers must be at least 100, got {customers}", argument="customers")
    if employees < 40:
        raise InputValueError(f"employees must be at least 40, got {employees}", argument="employees")
    if months < 3:
        raise InputValueError(f"months must be at least 3, got {months}", argument="months")
    if scheme not in ("siloed", "shared_customer"):
        raise InputValueError(
            f"scheme must be 'siloed' or 'shared_customer', got {scheme!r}", argument="scheme"
        )

    def tick(step: str, fraction: float) -> None:
        if progress is not None:
            progress(step, fraction)  # type: ignore[operator]

    streams = np.random.SeedSequence(seed)
    org_stream, customer_stream, month_stream = streams.spawn(3)
    rng = np.random.default_rng(org_stream)
    gaming = 1.0 if scheme == "siloed" else 0.0
    periods = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), periods=months, freq="MS")
    window_end = periods[-1] + pd.offsets.MonthBegin(1)

    cust = _customers(customer_stream, customers, periods, contact_rate)
    staff = _employees(rng, employees, periods)
    tick("customers and employees", 0.03)

    # monthly department "push" on local numbers (misaligned: at the customer's expense) and staffing budget
    push = {d: rng.normal(0.0, 1.0, months) for d in _DEPARTMENTS}
    # Paid on their own numbers every month, the misaligned departments push them persistently under the siloed
    # scheme (a positive mean), harder in some months than in others (the variation the alignment r measures).
    # A mean-zero push made "green inside, red outside" a coin toss in any one month, e.g. the last.
    habit = {d: gaming * _GAMING_PUSH if d in _MISALIGNED else 0.0 for d in _DEPARTMENTS}
    for d in _MISALIGNED:
        push[d] = push[d] + habit[d]
    budget = np.clip(rng.normal(0.97, 0.12, months), 0.7, 1.2)

    segment_effect = {"consumer": 0.0, "small_business": -0.3, "premium": -0.6}
    base_logit = -4.4
    churn_ns = np.full(customers, _NAT, dtype=np.int64)
    seg_eff = np.array([segment_effect[s] for s in _SEGMENTS])[cust["segment"]]

    agent_rows = np.flatnonzero((staff["role"] == "agent").to_numpy())
    n_agents = len(agent_rows)
    # AHT focus: how hard each agent chases short calls (planted gaming under the siloed scheme)
    aht_focus = gaming * rng.uniform(0.0, 1.0, n_agents)
    agent_aht = 380.0 - 90.0 * aht_focus + rng.normal(0, 20, n_agents)
    aht_fcr_slope = 0.0012  # + share of FCR per second of agent mean handle time (planted)
    agent_fcr = np.clip(0.74 + aht_fcr_slope * (agent_aht - 340.0), 0.3, 0.97)
    agent_quality = np.clip(rng.normal(86, 4, n_agents) - 6 * aht_focus, 50, 100)
    back_office = _BackOffice.draw(rng, staff, gaming)

    ctx = _Context(periods, window_end, push, gaming, habit)
    totals = _Totals.empty(months, len(staff))
    cust_id_rows = _sequential_id_bytes("C", customers, 7)
    employee_ids = staff["employee_id"].to_numpy()
    interval_parts: list[dict[str, np.ndarray]] = []
    first_contact = first_item = 0
    for m, (period, month_seed) in enumerate(zip(periods, month_stream.spawn(months), strict=True)):
        tick(f"month {m + 1} of {months}", 0.03 + 0.87 * m / months)
        r = np.random.default_rng(month_seed)
        month_end = _ns(period + pd.offsets.MonthBegin(1))
        active = (cust["start_ns"] < month_end) & ((churn_ns == _NAT) | (churn_ns >= month_end))
        c = _month_contacts(r, period, np.flatnonzero(active), cust["rate"])
        c, intervals_m = _serve(r, c, period, budget[m], agent_aht, agent_fcr)
        c["month"] = np.full(len(c["ts"]), m, dtype=np.int16)
        interval_parts.append(intervals_m)
        # churn in the following month depends on the service experienced this month
        phone = c["channel"] == 0
        phone_cust = c["cidx"][phone]
        calls = np.bincount(phone_cust, minlength=customers)
        within = np.bincount(phone_cust, weights=c["within"][phone], minlength=customers)
        with np.errstate(invalid="ignore", divide="ignore"):
            sl_exp = np.where(calls > 0, within / calls, np.nan)
        del calls, within
        logit = (
            base_logit
            + seg_eff
            + np.where(np.isnan(sl_exp), 0.0, sl_churn_log_odds * (np.nan_to_num(sl_exp) - 0.8))
        )
        del sl_exp
        churns = active & (r.random(customers) < 1.0 / (1.0 + np.exp(-logit)))
        del logit, active
        if m + 1 < months:
            nxt = periods[m + 1]
            days = r.integers(0, nxt.days_in_month, customers)
            new = churns & (churn_ns == _NAT)
            churn_ns[new] = _ns(nxt) + days[new] * _DAY_NS
            del days, new
        del churns

        c["agent"] = np.where(c["agent"] >= 0, agent_rows[c["agent"]], -1)  # staff row
        back_office.assign(r, c)
        items = _work_items(r, c, ctx)
        totals.add_contacts(c, _contact_satisfaction(r, c, ctx))
        totals.add_items(items, ctx)
        n = _emit_contacts(sink, c, employee_ids, cust_id_rows, ctx, first_contact)
        first_contact += n
        del c
        sink.add("work_items", _items_frame(items, cust_id_rows, first_item))
        first_item += int(items["item"].max()) + 1 if len(items["item"]) else 0
        del items

    tick("employee and department metrics", 0.92)
    intervals = _intervals_frame(interval_parts)
    churn_date = churn_ns.view("datetime64[ns]")
    active_n, churned_n = _churn_counts(cust["start_ns"].view("datetime64[ns]"), churn_date, ctx)
    emp_metrics, bo_slope = _employee_metrics(
        rng, staff, ctx, agent_quality, agent_rows, totals, active_n, churned_n, back_office.sales_focus
    )
    dept_metrics = _department_metrics(rng, emp_metrics, staff, totals, intervals, active_n, churned_n, ctx)
    planted: dict[str, float] = {}
    if plant_graph is not False:
        emp_metrics, dept_metrics, planted = _plant_graph(
            np.random.default_rng([seed, 17]), emp_metrics, dept_metrics, staff, plant_graph
        )
    sink.add("intervals", intervals)
    sink.add("employees", staff)
    sink.add("employee_metrics", emp_metrics)
    sink.add("department_metrics", dept_metrics)
    tick("customers", 0.96)
    for lo in range(0, customers, _CUSTOMER_BLOCK):
        sink.add("customers", _customers_frame(cust, churn_ns, lo, min(customers, lo + _CUSTOMER_BLOCK)))

    first_probs = {r: p for r, (p, _, _) in _REASONS.items()}
    shares: dict[str, float] = {}
    for reason, dept in _FAILURE_ORIGIN.items():
        shares[dept] = shares.get(dept, 0.0) + first_probs[reason]
    truth = Truth(
        sl_churn_log_odds=sl_churn_log_odds,
        base_churn_log_odds=base_logit,
        segment_churn_log_odds=segment_effect,
        failure_demand_shares={k: round(v, 6) for k, v in shares.items()},
        dominant_failure_source="billing",
        misaligned_departments=_MISALIGNED if gaming else (),
        aht_fcr_slope=aht_fcr_slope if gaming else 0.0,
        sales_calls_taken_slope=bo_slope if gaming else 0.0,
        conflicting_component=("siloed", "aht_s"),
        seed=seed,
        scheme=scheme,
        notes={
            "sl_churn_log_odds": "per +1.0 share of the customer's calls answered within 20 s, on next-month churn "
            "log-odds, in customer-months with at least one phone call; logit = base + segment + effect*(sl - 0.8)",
            "failure_demand_shares": "expected share of all contacts whose reason is failure demand caused by the "
            "department (repeats copy their reason; resolution does not depend on the reason)",
            **(
                {
                    "graph_elasticities": "planted on department_metrics: log target = unit level + Σ elasticity · "
                    "(log parent at t − lag − its unit mean) + N(0, σ) noise, at the level and unit matching "
                    "estimate_graph uses (cx_framework.conflicts.evidence)"
                }
                if planted
                else {}
            ),
        },
        graph_elasticities=planted,
    )
    tick("done", 1.0)
    return truth


def _ns(ts: pd.Timestamp) -> int:
    """A timestamp as int64 nanoseconds since the epoch."""
    return int(ts.to_datetime64().astype("datetime64[ns]").view(np.int64))


@dataclass(frozen=True)
class _Context:
    """Calendar and planted monthly drivers shared by the pieces."""

    periods: pd.DatetimeIndex
    window_end: pd.Timestamp
    push: dict[str, np.ndarray]
    gaming: float
    habit: dict[str, float]  # each department's mean push (what slas.yaml's lead times already describe)

    @property
    def months(self) -> int:
        return len(self.periods)

    @property
    def bounds_ns(self) -> np.ndarray:
        """Month starts and the window end, int64 ns (length months + 1)."""
        starts = self.periods.to_numpy().astype("datetime64[ns]").view(np.int64)
        return np.append(starts, self.window_end.to_datetime64().astype("datetime64[ns]").view(np.int64))

    @property
    def index_ns(self) -> pd.DatetimeIndex:
        """The periods as a nanosecond index (what ``_month`` produces)."""
        return pd.DatetimeIndex(self.periods.to_numpy().astype("datetime64[ns]"))


@dataclass
class _Totals:
    """Per-month totals of the contacts and work items, all the metrics need once a month's rows are gone.

    Every sum is of integers or booleans (whole-second waits and handle times), so adding months in any grouping
    gives the same float64 values as one pass over all rows.
    """

    by_staff: dict[str, np.ndarray]  # (months * staff,): n, handle, resolved, repeats, responses, sat
    by_reason: dict[str, np.ndarray]  # (months, reasons): all, answered, resolved, phone, within
    by_month: dict[str, np.ndarray]  # (months,): phone, within, answered_phone, answered_phone_wait, handle
    by_dept: dict[str, np.ndarray]  # (months, departments): stage_n, stage_met, cycle_h, backlog_n, backlog_h
    e2e: dict[
        str, np.ndarray
    ]  # (months,) n, met and (departments, months) dept_n, dept_met by completion month
    n_staff: int

    @classmethod
    def empty(cls, months: int, n_staff: int) -> _Totals:
        n_r, n_d = len(_REASON_LIST), len(_DEPT_LIST)
        return cls(
            by_staff={
                k: np.zeros(months * n_staff)
                for k in ("n", "handle", "resolved", "repeats", "responses", "sat")
            },
            by_reason={
                k: np.zeros((months, n_r)) for k in ("all", "answered", "resolved", "phone", "within")
            },
            by_month={
                k: np.zeros(months)
                for k in ("phone", "within", "answered_phone", "answered_phone_wait", "handle")
            },
            by_dept={
                k: np.zeros((months, n_d))
                for k in ("stage_n", "stage_met", "cycle_h", "backlog_n", "backlog_h")
            },
            e2e={
                "n": np.zeros(months),
                "met": np.zeros(months),
                "dept_n": np.zeros((n_d, months)),
                "dept_met": np.zeros((n_d, months)),
            },
            n_staff=n_staff,
        )

    def add_contacts(self, c: dict[str, np.ndarray], survey: dict[str, np.ndarray]) -> None:
        """One month of contacts (``c["month"]`` constant) and their survey answers (see ``_contact_satisfaction``)."""
        months = len(self.by_month["phone"])
        size = months * self.n_staff
        handled = survey["handled"]
        key = c["month"][handled].astype(np.int64) * self.n_staff + c["agent"][handled]
        for name, weights in (
            ("n", None),
            ("handle", c["handle_s"][handled]),
            ("resolved", c["resolved"][handled]),
            ("repeats", c["is_repeat"][handled]),
            ("responses", survey["responded"]),
            ("sat", survey["satisfied"] & survey["responded"]),
        ):
            self.by_staff[name] += np.bincount(key, weights=weights, minlength=size)
        n_r = len(_REASON_LIST)
        rkey = c["month"].astype(np.int64) * n_r + c["reason"]
        phone = c["channel"] == 0
        answered = ~c["abandoned"]
        for name, weights in (
            ("all", None),
            ("answered", answered),
            ("resolved", c["resolved"]),
            ("phone", phone),
            ("within", c["within"]),
        ):
            self.by_reason[name] += np.bincount(rkey, weights=weights, minlength=months * n_r).reshape(
                months, n_r
            )
        cm = c["month"]
        ans_ph = phone & answered
        for name, weights in (
            ("phone", phone),
            ("within", c["within"]),
            ("answered_phone", ans_ph),
            ("answered_phone_wait", np.where(ans_ph, c["wait_s"], 0.0)),
            ("handle", c["handle_s"]),
        ):
            self.by_month[name] += np.bincount(cm, weights=weights, minlength=months)

    def add_items(self, items: dict[str, np.ndarray], ctx: _Context) -> None:
        """The work items opened by one month's contacts (whole journeys: every stage is drawn at once)."""
        months, n_d = ctx.months, len(_DEPT_LIST)
        bounds = ctx.bounds_ns
        closed = ~items["left_nat"]
        out_m = _month_index(items["out"][closed], bounds)
        dept = items["dept"][closed].astype(np.int64)
        key = out_m * n_d + dept
        hours = ((items["out"][closed] - items["in"][closed]) // _NS).astype(float) / 3600
        met = hours <= _STAGE_SLA_ARR[items["stage"][closed]]
        flat = months * n_d
        self.by_dept["stage_n"] += np.bincount(key, minlength=flat).reshape(months, n_d)
        self.by_dept["stage_met"] += np.bincount(key, weights=met, minlength=flat).reshape(months, n_d)
        self.by_dept["cycle_h"] += np.bincount(key, weights=hours, minlength=flat).reshape(months, n_d)
        # backlog at each month end: stages entered before it and not left by it, with their age in hours
        left = np.where(closed, items["out"], np.iinfo(np.int64).max)
        for k in range(months):
            end = bounds[k + 1]
            open_ = (items["in"] < end) & (left >= end)
            if open_.any():
                d = items["dept"][open_]
                self.by_dept["backlog_n"][k] += np.bincount(d, minlength=n_d)
                ages = ((end - items["in"][open_]) // _NS).astype(float) / 3600
                self.by_dept["backlog_h"][k] += np.bincount(d, weights=ages, minlength=n_d)
        e2e = _journey_e2e(items, ctx)
        self.e2e["n"] += np.bincount(e2e["month"], minlength=months)
        self.e2e["met"] += np.bincount(e2e["month"], weights=e2e["met"], minlength=months)
        for code in range(n_d):
            touched = e2e["touched"][code]
            self.e2e["dept_n"][code] += np.bincount(e2e["month"][touched], minlength=months)
            self.e2e["dept_met"][code] += np.bincount(
                e2e["month"][touched], weights=e2e["met"][touched], minlength=months
            )


# ------------------------------------------------------------------------------------------------ pieces
def _month(values: pd.Series) -> pd.Series:
    """Month start of each timestamp (numpy datetime64[M] truncation; much faster than to_period)."""
    out = values.to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    return pd.Series(out, index=values.index, name=values.name)


def _customer_ids(index: np.ndarray) -> pd.Series:
    return _ids("C", index, 7)


def _customers(
    stream: np.random.SeedSequence, n: int, periods: pd.DatetimeIndex, contact_rate: float
) -> dict[str, np.ndarray]:
    """Customer attributes as arrays, drawn in blocks of ``_CUSTOMER_BLOCK`` (one random stream per block).

    ``segment``/``product`` codes, ``revenue``, ``start_ns`` (int64 ns) and ``rate`` (the customer's mean first
    contacts per average month).
    """
    first = _ns(periods[0])
    # Most were customers before the window (up to 6 years); the others join during it, spread over the whole
    # window at about the rate the base churns (~1.3 %/month), so the base is steady. (A quarter joining in the
    # first half only made the base shrink all through the second: the last month was the quietest, with the
    # lowest occupancy, for every seed.) Tenured share f balances joins (1 − f)·n/months with churn f·n·rate.
    tenured_share = 1.0 / (1.0 + _MONTHLY_CHURN * len(periods))
    span_days = max(1, (periods[-1] + pd.offsets.MonthBegin(1) - periods[0]).days)
    base = np.array([32.0, 22.0, 55.0])  # broadband, mobile, bundle
    uplift = np.array([1.0, 1.6, 2.2])  # consumer, small_business, premium
    out: dict[str, np.ndarray] = {
        "segment": np.empty(n, np.int8),
        "product": np.empty(n, np.int8),
        "revenue": np.empty(n),
        "start_ns": np.empty(n, np.int64),
        "rate": np.empty(n),
    }
    blocks = range(0, n, _CUSTOMER_BLOCK)
    for lo, block_stream in zip(blocks, stream.spawn(len(blocks)), strict=True):
        rng = np.random.default_rng(block_stream)
        k = min(n, lo + _CUSTOMER_BLOCK) - lo
        segment = rng.choice(len(_SEGMENTS), k, p=[0.7, 0.2, 0.1])
        product = rng.choice(len(_PRODUCTS), k, p=[0.4, 0.35, 0.25])
        revenue = base[product] * uplift[segment] * rng.lognormal(0.0, 0.15, k)
        tenured = rng.random(k) < tenured_share
        days_before = rng.integers(1, 6 * 365, k)
        days_after = rng.integers(0, span_days, k)
        sl = slice(lo, lo + k)
        out["segment"][sl] = segment
        out["product"][sl] = product
        out["revenue"][sl] = np.round(revenue, 2)
        out["start_ns"][sl] = first + np.where(tenured, -days_before, days_after) * _DAY_NS
        out["rate"][sl] = contact_rate * rng.gamma(4.0, 0.25, k)
    return out


def _customers_frame(cust: dict[str, np.ndarray], churn_ns: np.ndarray, lo: int, hi: int) -> pd.DataFrame:
    """Rows ``lo:hi`` of the public customers table."""
    return pd.DataFrame(
        {
            "customer_id": _sequential_ids("C", hi - lo, 7, first=lo),
            "segment": _labels(_SEGMENTS, cust["segment"][lo:hi]),
            "product": _labels(_PRODUCTS, cust["product"][lo:hi]),
            "start_date": cust["start_ns"][lo:hi].view("datetime64[ns]"),
            "monthly_revenue": cust["revenue"][lo:hi],
            "churn_date": churn_ns[lo:hi].view("datetime64[ns]"),
        },
        copy=False,
    )


def _employees(rng: np.random.Generator, n: int, periods: pd.DatetimeIndex) -> pd.DataFrame:
    rows = []
    counter = 0
    for dept, (share, teams, role, salary) in _DEPARTMENTS.items():
        count = max(len(teams) * 2, round(n * share))
        for i in range(count):
            team = teams[i % len(teams)]
            is_leader = dept == "contact_centre" and i < len(teams)
            rows.append(
                (
                    f"E{counter:05d}",
                    dept,
                    team,
                    "team_leader" if is_leader else role,
                    salary * (1.35 if is_leader else 1.0),
                )
            )
            counter += 1
    frame = pd.DataFrame(rows, columns=["employee_id", "department", "team", "role", "base_salary"])
    k = len(frame)
    frame["base_salary"] = np.round(frame["base_salary"] * rng.lognormal(0, 0.08, k), 2)
    first = periods[0].to_datetime64()
    window_days = (periods[-1] + pd.offsets.MonthBegin(1) - periods[0]).days
    hired_during = rng.random(k) < 0.10
    hire = np.where(
        hired_during,
        first + rng.integers(0, window_days // 2, k).astype("timedelta64[D]"),
        first - rng.integers(30, 8 * 365, k).astype("timedelta64[D]"),
    ).astype("datetime64[ns]")
    leaves = rng.random(k) < 0.12
    leave = hire + rng.integers(60, 2 * window_days, k).astype("timedelta64[D]")
    end = (periods[-1] + pd.offsets.MonthBegin(1)).to_datetime64()
    leave = np.where(leaves & (leave < end) & (leave > first), leave, np.datetime64("NaT")).astype(
        "datetime64[ns]"
    )
    frame["hire_date"] = hire
    frame["leave_date"] = leave
    return frame


def _month_contacts(
    rng: np.random.Generator, period: pd.Timestamp, active_idx: np.ndarray, cust_rate: np.ndarray
) -> dict[str, np.ndarray]:
    """First contacts of one month: customer, reason code, channel code, int64-ns timestamp."""
    # rates are per average-length month: a 31-day month gets 31/28 of February's contacts, so the daily load
    # (and with it occupancy and service level) does not depend on the length of the month
    counts = rng.poisson(cust_rate[active_idx] * (period.days_in_month / _DAYS_PER_MONTH))
    cidx = np.repeat(active_idx, counts)
    n = len(cidx)
    reason = rng.choice(len(_REASON_LIST), n, p=_REASON_PROB / _REASON_PROB.sum()).astype(np.int8)
    channel = rng.choice(len(_CHANNELS), n, p=[0.7, 0.15, 0.15]).astype(np.int8)
    day = rng.integers(0, period.days_in_month, n)
    # intraday profile: morning peak, smaller after-lunch peak
    slot_weights = np.array([3, 5, 8, 9, 9, 8, 6, 6, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1], float)
    slot = rng.choice(len(slot_weights), n, p=slot_weights / slot_weights.sum())
    seconds = _OPEN_HOUR * 3600 + slot * _INTERVAL_S + rng.integers(0, _INTERVAL_S, n)
    period_ns = int(period.to_datetime64().astype("datetime64[ns]").view(np.int64))
    return {
        "cidx": cidx,
        "reason": reason,
        "channel": channel,
        "ts": period_ns + day * _DAY_NS + seconds * _NS,
    }


def _serve(
    rng: np.random.Generator,
    c: dict[str, np.ndarray],
    period: pd.Timestamp,
    budget: float,
    agent_aht: np.ndarray,
    agent_fcr: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Assign agents, handle times, resolution and repeats; queue phone calls through Erlang C intervals."""
    n = len(c["cidx"])
    n_agents = len(agent_aht)
    agent = rng.integers(0, n_agents, n)
    handle = np.maximum(1.0, np.round(rng.gamma(4.0, agent_aht[agent] * _REASON_FACTOR[c["reason"]] / 4.0)))
    resolved = rng.random(n) < agent_fcr[agent]
    # unresolved contacts come back within a week (60 %), same reason and channel mix
    back = np.flatnonzero((~resolved) & (rng.random(n) < 0.6))
    delay = rng.uniform(0.2, 7.0, len(back)) * 86400
    rts = c["ts"][back] + pd.to_timedelta(delay, unit="s").to_numpy().view(np.int64)
    period_ns = int(period.to_datetime64().astype("datetime64[ns]").view(np.int64))
    month_end_ns = int(
        (period + pd.offsets.MonthBegin(1)).to_datetime64().astype("datetime64[ns]").view(np.int64)
    )
    keep = rts < month_end_ns
    back, rts = back[keep], rts[keep]
    tod = (rts // _NS) % 86_400
    rts = rts + (np.clip(tod, _OPEN_HOUR * 3600, _CLOSE_HOUR * 3600 - 1) - tod) * _NS
    m = len(back)
    ragent = rng.integers(0, n_agents, m)
    rhandle = np.maximum(1.0, np.round(rng.gamma(4.0, agent_aht[ragent] * 1.1 / 4.0)))
    rresolved = rng.random(m) < agent_fcr[ragent]

    cidx = np.concatenate([c["cidx"], c["cidx"][back]])
    reason = np.concatenate([c["reason"], c["reason"][back]])
    channel = np.concatenate([c["channel"], c["channel"][back]])
    ts = np.concatenate([c["ts"], rts])
    is_repeat = np.concatenate([np.zeros(n, bool), np.ones(m, bool)])
    agent = np.concatenate([agent, ragent])
    handle = np.concatenate([handle, rhandle])
    resolved = np.concatenate([resolved, rresolved])
    queue = _REASON_QUEUE[reason]

    # intervals: every opening-hours slot of every queue; grid cell = (day * slots + slot) * queues + queue
    days = period.days_in_month
    n_q = len(_QUEUES)
    since = ts - period_ns
    slot = ((since % _DAY_NS) // _NS - _OPEN_HOUR * 3600) // _INTERVAL_S
    cell = ((since // _DAY_NS) * _SLOTS + slot) * n_q + queue
    n_cells = days * _SLOTS * n_q
    phone = channel == 0
    cell_ph = cell[phone]
    offered = np.bincount(cell_ph, minlength=n_cells)
    handle_load = np.bincount(cell_ph, weights=handle[phone], minlength=n_cells)
    default_aht = np.tile(_DEFAULT_AHT, days * _SLOTS)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_handle = np.where(offered > 0, handle_load / offered, default_aht)
    # the plan staffs for the expected load; the month's budget and day-to-day noise decide what is there
    expected = offered.reshape(days, _SLOTS * n_q).mean(axis=0)
    needed = np.tile(_agents_for_target(expected, _DEFAULT_AHT[np.arange(_SLOTS * n_q) % n_q]), days)
    staffed = np.maximum(1, np.round(needed * budget * rng.uniform(0.75, 1.15, n_cells)))
    pwait, rate = _erlang_sl(offered.astype(float), mean_handle, staffed)

    # waits of phone calls: wait with P(wait); conditional wait ~ Exp(rate); abandon when patience runs out
    k = len(ts)
    waits = np.where(rng.random(k) < pwait[cell], rng.exponential(1.0, k) / rate[cell], 0.0)
    patience = rng.exponential(150.0, k)
    abandoned = phone & (waits > patience)
    wait_s = np.where(abandoned, patience, waits)
    wait_s = np.where(
        channel == 1,
        rng.exponential(6 * 3600, k),
        np.where(channel == 2, rng.exponential(45.0, k), wait_s),
    )
    wait_s = np.round(wait_s)  # whole seconds, so the within-threshold flag matches the stored wait
    within = phone & ~abandoned & (wait_s <= _THRESHOLD_S)
    handle[abandoned] = 0.0
    resolved &= ~abandoned
    agent = np.where(abandoned, -1, agent)

    ab_ph = abandoned[phone]
    answered = np.bincount(cell_ph, weights=~ab_ph, minlength=n_cells).astype(np.int64)
    n_abandoned = np.bincount(cell_ph, weights=ab_ph, minlength=n_cells).astype(np.int64)
    n_within = np.bincount(cell_ph, weights=within[phone], minlength=n_cells).astype(np.int64)
    handle_sum = np.bincount(cell_ph, weights=handle[phone], minlength=n_cells)
    aht = np.where(answered > 0, handle_sum / np.maximum(answered, 1), mean_handle).round(1)
    slot_ns = (_OPEN_HOUR * 3600 + np.arange(_SLOTS) * _INTERVAL_S) * _NS
    starts = (period_ns + np.arange(days)[:, None] * _DAY_NS + slot_ns[None, :]).ravel()
    contacts = {
        "cidx": cidx,
        "reason": reason,
        "channel": channel,
        "queue": queue,
        "ts": ts,
        "is_repeat": is_repeat,
        "agent": agent,
        "handle_s": handle,
        "resolved": resolved,
        "wait_s": wait_s,
        "abandoned": abandoned,
        "within": within,
    }
    intervals = {
        "interval_start": np.repeat(starts, n_q),
        "queue": np.tile(np.arange(n_q), len(starts)),
        "offered": answered + n_abandoned,
        "answered": answered,
        "answered_within_threshold": n_within,
        "abandoned": n_abandoned,
        "aht_s": aht,
        "agents_staffed": staffed.astype(np.int64),
    }
    return contacts, intervals


def _intervals_frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    frame = pd.DataFrame(
        {
            "interval_start": cols["interval_start"].view("datetime64[ns]"),
            "queue": np.array(_QUEUES, dtype=object)[cols["queue"]],
            "offered": cols["offered"],
            "answered": cols["answered"],
            "answered_within_threshold": cols["answered_within_threshold"],
            "abandoned": cols["abandoned"],
            "aht_s": cols["aht_s"],
            "agents_staffed": cols["agents_staffed"],
            "threshold_s": _THRESHOLD_S,
        }
    )
    frame["queue"] = frame["queue"].astype(object)  # as the pandas grid built it
    return frame


def _time_order(ts_s: np.ndarray, month: np.ndarray, bounds_ns: np.ndarray) -> np.ndarray:
    """``np.argsort(ts_s, kind="stable")`` for month-blocked times (block m holds the times of month m, in order).

    Blocks occupy disjoint, increasing time ranges, so the global stable order is the concatenation of each block's
    stable order. Within a block the key (seconds since the month start, < 2**22) is sorted by two stable passes
    of 11-bit digits, which numpy sorts by radix (linear time) — about twice as fast as one int64 timsort.
    """
    edges = np.searchsorted(month, np.arange(len(bounds_ns)), side="left")
    out = np.empty(len(ts_s), dtype=np.int64)
    for m in range(len(bounds_ns) - 1):
        lo, hi = edges[m], edges[m + 1]
        if hi == lo:
            continue
        key = (ts_s[lo:hi] - bounds_ns[m]) // _NS
        if key.min() < 0 or key.max() >= 1 << 22:
            order = np.argsort(ts_s[lo:hi], kind="stable")
        else:
            order = np.argsort((key & 0x7FF).astype(np.uint16), kind="stable")
            order = order[np.argsort((key >> 11).astype(np.uint16)[order], kind="stable")]
        out[lo:hi] = order + lo
    return out


def _emit_contacts(
    sink: _MemorySink | _ParquetSink,
    c: dict[str, np.ndarray],
    employee_ids: np.ndarray,
    cust_id_rows: np.ndarray | None,
    ctx: _Context,
    first_id: int,
) -> int:
    """Hand one month of contacts to ``sink`` as the public table: whole-second timestamps, stably sorted by time,
    ids numbered on from ``first_id``; returns the number of rows.

    Strings are formatted ``_WRITE_ROWS`` rows at a time. The columns are independent gathers / formatting passes;
    numpy's gathers and Arrow's ``take`` release the GIL, so they are built on two threads (no random draws here,
    so the result does not depend on the scheduling).
    """
    from concurrent.futures import ThreadPoolExecutor

    ts = c["ts"] - c["ts"] % _NS
    order = _time_order(ts, c["month"], ctx.bounds_ns)
    n = len(ts)

    labels: dict[str, tuple[str, ...]] = {"channel": _CHANNELS, "queue": _QUEUES, "reason": _REASON_LIST}

    def column(name: str, idx: np.ndarray, lo: int) -> pd.Series | np.ndarray:
        if name == "contact_id":
            return _sequential_ids("K", len(idx), 8, first=first_id + lo)
        if name == "customer_id":
            return _customer_ids_of(c["cidx"][idx], cust_id_rows)
        if name == "timestamp":
            return ts[idx].view("datetime64[ns]")
        if name == "agent_id":
            return _labels(employee_ids, c["agent"][idx])
        if name in labels:
            return _labels(labels[name], c[name][idx])
        return c["resolved" if name == "resolved_first_contact" else name][idx]

    with ThreadPoolExecutor(max_workers=2) as pool:
        for lo in range(0, n, _WRITE_ROWS):
            idx = order[lo : lo + _WRITE_ROWS]
            futures = {name: pool.submit(column, name, idx, lo) for name in _CONTACT_COLUMNS}
            sink.add("contacts", pd.DataFrame({name: f.result() for name, f in futures.items()}, copy=False))
    return n


def _work_items(rng: np.random.Generator, c: dict[str, np.ndarray], ctx: _Context) -> dict[str, np.ndarray]:
    """Journeys opened by trigger contacts; stage lead times from the SLA config's distributions.

    In misaligned departments a month of pushing the own SLA shortens the department's own stage time a little and
    lengthens the hand-off wait into it a lot (easy items first, hard ones age in the queue).
    Returns one array per column (codes for strings, int64 ns for times, ``left_nat`` marks open stages).
    """
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("item", "stage", "cidx", "journey", "dept", "in", "out")
    }
    first = ~c["is_repeat"]
    counter = 0
    stage_code = 0
    for j, (_journey, (triggers, p_open, stages)) in enumerate(_JOURNEYS.items()):
        trig = np.isin(c["reason"], [_REASON_LIST.index(r) for r in triggers])
        src = np.flatnonzero(first & trig)
        src = src[rng.random(len(src)) < p_open]
        n = len(src)
        t = c["ts"][src]
        m = c["month"][src]
        ids = np.arange(counter, counter + n)
        counter += n
        for _stage, dept, shape, scale, handoff in stages:
            # the configured lead times are the departments' habitual ones: a month moves them by its deviation
            # from the department's usual push
            g = ctx.push[dept][m] - ctx.habit[dept]
            # misaligned: pushing the own SLA ages the hand-off queue; aligned: a good month is good for both
            misaligned = dept in _MISALIGNED and ctx.gaming > 0
            wait_effect, stage_effect = (0.45, -0.08) if misaligned else (-0.15, -0.12)
            if handoff > 0:
                wait_h = rng.exponential(handoff * np.exp(wait_effect * g))
                t = t + pd.to_timedelta(wait_h, unit="h").to_numpy().view(np.int64)
            entered = t
            stage_h = rng.gamma(shape, scale * np.exp(stage_effect * g))
            t = t + pd.to_timedelta(stage_h, unit="h").to_numpy().view(np.int64)
            parts["item"].append(ids)
            parts["stage"].append(np.full(n, stage_code, np.int8))
            parts["cidx"].append(c["cidx"][src])
            parts["journey"].append(np.full(n, j, np.int8))
            parts["dept"].append(np.full(n, _DEPT_LIST.index(dept), np.int8))
            parts["in"].append(entered)
            parts["out"].append(t)
            stage_code += 1
    items = {k: np.concatenate(v) for k, v in parts.items()}
    minute = 60 * _NS
    items["in"] = items["in"] - items["in"] % minute
    items["out"] = items["out"] - items["out"] % minute
    end_ns = ctx.bounds_ns[-1]
    keep = items["in"] < end_ns
    items = {k: v[keep] for k, v in items.items()}
    items["left_nat"] = items["out"] >= end_ns
    items["out"] = np.where(items["left_nat"], _NAT, items["out"])
    return items


def _items_frame(
    items: dict[str, np.ndarray], cust_id_rows: np.ndarray | None, first_id: int
) -> pd.DataFrame:
    """The public work-items rows of one month's journeys, item ids numbered on from ``first_id``."""
    return pd.DataFrame(
        {
            "item_id": _ids("W", items["item"] + first_id, 7),
            "stage": _labels(_STAGE_LIST, items["stage"]),
            "customer_id": _customer_ids_of(items["cidx"], cust_id_rows),
            "journey": _labels(_JOURNEY_LIST, items["journey"]),
            "department": _labels(_DEPT_LIST, items["dept"]),
            "entered_at": items["in"].view("datetime64[ns]"),
            "left_at": items["out"].view("datetime64[ns]"),
        },
        copy=False,
    )


@dataclass(frozen=True)
class _BackOffice:
    """Back-office staff who take calls at peaks (fewer if they chase sales) and the sales reps on the sales queue."""

    rows: np.ndarray  # staff rows of billing and fulfilment employees
    p_take: np.ndarray  # probability that a taken call goes to each of them
    reps: np.ndarray  # staff rows of the sales reps
    sales_focus: pd.Series  # employee_id -> how hard they chase product sales (planted under siloed)

    @classmethod
    def draw(cls, rng: np.random.Generator, staff: pd.DataFrame, gaming: float) -> _BackOffice:
        bo = np.flatnonzero(staff["department"].isin(["billing", "fulfilment"]).to_numpy())
        sales_focus = gaming * rng.uniform(0.0, 1.0, len(bo))
        willingness = np.clip(1.0 - 0.8 * sales_focus, 0.05, 1.0)
        reps = np.flatnonzero((staff["role"] == "sales_rep").to_numpy())
        focus = pd.Series(sales_focus, index=staff["employee_id"].to_numpy()[bo])
        return cls(bo, willingness / willingness.sum(), reps, focus)

    def assign(self, rng: np.random.Generator, c: dict[str, np.ndarray]) -> None:
        """Hand some answered billing/general calls to back-office staff and sales calls to reps (in place)."""
        agent = c["agent"]
        general_or_billing = c["queue"] <= _QUEUES.index("billing")
        phone_answered = np.flatnonzero((c["channel"] == 0) & (agent >= 0) & general_or_billing)
        take = phone_answered[rng.random(len(phone_answered)) < 0.08]
        agent[take] = self.rows[rng.choice(len(self.rows), len(take), p=self.p_take)]
        sales_calls = np.flatnonzero((c["queue"] == _QUEUES.index("sales")) & (agent >= 0))
        sales_calls = sales_calls[rng.random(len(sales_calls)) < 0.6]
        agent[sales_calls] = self.reps[rng.integers(0, len(self.reps), len(sales_calls))]


def _journey_e2e(items: dict[str, np.ndarray], ctx: _Context) -> dict[str, np.ndarray]:
    """One entry per completed journey: completion month index, departments touched, promise met."""
    item = items["item"]
    n = int(item.max()) + 1 if len(item) else 0
    present = np.zeros(n, bool)
    present[item] = True
    start = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(start, item, items["in"])
    end = np.full(n, _NAT)
    np.maximum.at(end, item, items["out"])  # open stages hold _NAT (the minimum)
    is_open = np.zeros(n, bool)
    is_open[item[items["left_nat"]]] = True
    journey = np.zeros(n, np.int8)
    journey[item] = items["journey"]
    touched = np.zeros((len(_DEPT_LIST), n), bool)
    touched[items["dept"], item] = True
    done = np.flatnonzero(present & ~is_open)
    hours = ((end[done] - start[done]) // _NS).astype(float) / 3600
    return {
        "met": hours <= _PROMISE_ARR[journey[done]],
        "month": _month_index(end[done], ctx.bounds_ns),
        "touched": touched[:, done],
    }


def _churn_counts(start: np.ndarray, churn: np.ndarray, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Customers active at each month start and churning in the month (by sorted-time counting).

    Active at p: start < p and (no churn or churn ≥ p); churned: active and p ≤ churn < next month. With
    ``last = max(start, churn)`` (no churn = +∞), #(start < p, churn < p) = #(last < p). A churn date always lies in
    the month after one in which the customer was active, so churn > start and churning in [p, next) implies
    start < p: churned = #(p ≤ last < next). Both are differences of ``searchsorted`` counts.
    """
    start_i = np.sort(start.astype("datetime64[ns]").view(np.int64))
    churn_i = churn.astype("datetime64[ns]").view(np.int64)
    last = np.where(np.isnat(churn), np.iinfo(np.int64).max, np.maximum(start.view(np.int64), churn_i))
    last.sort()
    bounds = ctx.bounds_ns
    gone = np.searchsorted(last, bounds, side="left")  # #(last < bound)
    active = np.searchsorted(start_i, bounds[:-1], side="left") - gone[:-1]
    churned = gone[1:] - gone[:-1]
    return active, churned


def _monthly_churn(active: np.ndarray, churned: np.ndarray, periods: pd.DatetimeIndex) -> pd.Series:
    """Customers churning in the month / customers active at its start.

    The first month has no rate: churn in month m+1 is drawn from the service experienced in month m, so the
    simulation observes churn from the second month on (the metric gets "no data", never a false 0).
    """
    rate = churned / np.maximum(active, 1)
    rate = np.where(np.arange(len(rate)) == 0, np.nan, rate)
    return pd.Series(rate, index=periods)


def _employee_metrics(
    rng: np.random.Generator,
    staff: pd.DataFrame,
    ctx: _Context,
    agent_quality: np.ndarray,
    agent_rows: np.ndarray,
    totals: _Totals,
    active_n: np.ndarray,
    churned_n: np.ndarray,
    sales_focus: pd.Series,
) -> tuple[pd.DataFrame, float]:
    periods, push, gaming = ctx.periods, ctx.push, ctx.gaming
    covered = staff[staff["role"].isin(["agent", "billing_specialist", "fulfilment_specialist", "sales_rep"])]
    grid = pd.MultiIndex.from_product([periods, covered["employee_id"]], names=["period", "employee_id"])
    base = grid.to_frame(index=False).merge(
        covered[["employee_id", "department", "team", "role", "hire_date", "leave_date"]], on="employee_id"
    )
    period_end = base["period"] + pd.offsets.MonthBegin(1)
    employed = (base["hire_date"] < period_end) & (
        base["leave_date"].isna() | (base["leave_date"] > base["period"])
    )
    base = base[employed].reset_index(drop=True)
    m_idx = base["period"].map({p: i for i, p in enumerate(periods)}).to_numpy()
    n_staff = len(staff)
    pos = pd.Index(staff["employee_id"]).get_indexer(base["employee_id"])
    key = m_idx * n_staff + pos

    # contact-based metrics per employee and month (summed month by month in _Totals.add_contacts)
    for name in ("n", "handle", "resolved", "repeats", "responses", "sat"):
        base[name] = totals.by_staff[name][key]

    # department-month context
    dept = base["department"].to_numpy()
    g = np.zeros(len(base))
    for d in _DEPARTMENTS:
        g[dept == d] = push[d][m_idx[dept == d]]
    is_bo = np.isin(dept, ["billing", "fulfilment"])
    is_sales = (base["role"] == "sales_rep").to_numpy()

    # product sales: sales reps sell most; back-office staff who chase sales (planted) sell more, take fewer calls
    focus = base["employee_id"].map(sales_focus).fillna(0.0).to_numpy()
    mean_sales = np.where(is_sales, 40.0, np.where(is_bo, 3.0 + 8.0 * focus, 2.0))
    misaligned = np.isin(dept, list(_MISALIGNED)) & (gaming > 0)
    mean_sales = mean_sales * np.exp(np.where(misaligned, 0.12, 0.03) * g)
    product_sales = rng.poisson(mean_sales).astype(float)
    calls_taken = np.where(is_bo, base["n"].to_numpy(), np.nan)
    slope = 0.0
    if gaming and is_bo.any():
        slope = float(np.polyfit(product_sales[is_bo], calls_taken[is_bo], 1)[0])

    # own SLA: contact centre = month's share of calls within 20 s; back office = own-stage items within stage SLA
    ph_n, ph_within = totals.by_month["phone"], totals.by_month["within"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cc_sl = np.where(ph_n > 0, ph_within / ph_n, np.nan)
    own = cc_sl[m_idx]
    n_d = len(_DEPT_LIST)
    s_n, s_met = totals.by_dept["stage_n"].ravel(), totals.by_dept["stage_met"].ravel()
    dept_code = pd.Index(_DEPT_LIST).get_indexer(base["department"])
    bkey = m_idx * n_d + dept_code
    with np.errstate(invalid="ignore", divide="ignore"):
        dept_own = np.where(s_n[bkey] > 0, s_met[bkey] / s_n[bkey], np.nan)
    # the contact centre's own SLA is its 80/20 service level; back-office departments use their stage SLAs
    own = np.where(np.isnan(dept_own) | (dept_code == _DEPT_LIST.index("contact_centre")), own, dept_own)
    own = np.clip(own + rng.normal(0, 0.02, len(base)), 0, 1)

    # e2e resolution and churn of the customers each team serves (team-level values, shared by the team)
    e_n, e_met = totals.e2e["n"], totals.e2e["met"]
    with np.errstate(invalid="ignore", divide="ignore"):
        e2e_by_period = np.where(e_n > 0, e_met / e_n, np.nan)
    e2e_val = np.clip(
        e2e_by_period[m_idx] - np.where(misaligned, 0.03, -0.01) * g + rng.normal(0, 0.01, len(base)),
        0,
        1,
    )
    churn = _monthly_churn(active_n, churned_n, periods).to_numpy()
    churn_val = np.clip(
        churn[m_idx] * np.exp(np.where(misaligned, 0.08, -0.03) * g) * rng.lognormal(0, 0.05, len(base)),
        0,
        1,
    )
    aq = dict(zip(staff["employee_id"].to_numpy()[agent_rows], agent_quality, strict=True))
    quality = np.clip(
        base["employee_id"].map(aq).fillna(85.0).to_numpy()
        + rng.normal(0, 3, len(base))
        + np.where(misaligned, -1.0, 1.0) * g,
        0,
        100,
    )

    n = base["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "aht_s": (np.where(n > 0, base["handle"] / np.maximum(n - 0, 1), np.nan), n),
            "fcr": (np.where(n > 0, base["resolved"] / np.maximum(n, 1), np.nan), n),
            "repeat_contact_rate": (np.where(n > 0, base["repeats"] / np.maximum(n, 1), np.nan), n),
            "csat": (
                np.where(base["responses"] > 0, base["sat"] / np.maximum(base["responses"], 1), np.nan),
                base["responses"].to_numpy(),
            ),
            "quality_score": (quality, np.full(len(base), 4.0)),
            "product_sales": (product_sales, np.ones(len(base))),
            "own_sla_met": (own, np.maximum(n, 1)),
            "e2e_resolution": (e2e_val, np.ones(len(base))),
            "churn_rate": (churn_val, np.ones(len(base))),
            "calls_taken": (calls_taken, np.ones(len(base))),
        }
    period_ns = ctx.index_ns[m_idx]
    frames = []
    for metric, (value, volume) in values.items():
        value = np.asarray(value, float)
        keep = ~np.isnan(value)
        frames.append(
            pd.DataFrame(
                {
                    "period": period_ns[keep],
                    "employee_id": base["employee_id"][keep].to_numpy(),
                    "metric": metric,
                    "value": np.round(value[keep], 6),
                    "volume": np.asarray(volume, float)[keep],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out, slope


def _contact_satisfaction(
    rng: np.random.Generator, c: dict[str, np.ndarray], ctx: _Context
) -> dict[str, np.ndarray]:
    """Survey answers of one month's handled contacts: ``handled`` (row positions), ``satisfied``, ``responded``.

    Satisfaction rises with resolution, falls with the wait, and moves with the push of the department whose work
    caused the contact (misaligned departments' pushes at the customer's expense); 30 % answer the survey.
    """
    handled = np.flatnonzero(c["agent"] >= 0)
    mi = c["month"][handled].astype(np.int64)
    rng_csat = rng.random(len(handled))
    wait_pen = np.clip(c["wait_s"][handled] / 600.0, 0, 1)
    origin = _REASON_DEPT[c["reason"][handled]]
    signs = np.array([-1.0 if d in _MISALIGNED and ctx.gaming else 1.0 for d in _DEPT_LIST])
    push_table = np.array([ctx.push[d] for d in _DEPT_LIST])
    push_cs = signs[origin] * 0.05 * push_table[origin, mi]
    resolved = c["resolved"][handled]
    p_sat = np.clip(0.55 + 0.3 * resolved - 0.2 * wait_pen + push_cs, 0.02, 0.98)
    satisfied = rng_csat < p_sat
    responded = rng.random(len(handled)) < 0.3
    return {"handled": handled, "satisfied": satisfied, "responded": responded}


def _department_metrics(
    rng: np.random.Generator,
    emp_metrics: pd.DataFrame,
    staff: pd.DataFrame,
    totals: _Totals,
    intervals: pd.DataFrame,
    active_n: np.ndarray,
    churned_n: np.ndarray,
    ctx: _Context,
) -> pd.DataFrame:
    """Team rows roll up employee metrics exactly; department rows come from the contacts' and work items'
    monthly totals, the intervals and the customers."""
    from cx_framework.config import load_config

    periods, push = ctx.periods, ctx.push
    months = ctx.months
    pidx = ctx.index_ns
    catalogue = load_config(Path(__file__).resolve().parent.parent / "configs").metrics.by_id
    em = emp_metrics.merge(staff[["employee_id", "department", "team"]], on="employee_id")
    em["agg"] = em["metric"].map(lambda m: catalogue[m].aggregation)
    em["wv"] = em["value"] * em["volume"]
    grouped = (
        em.groupby(["period", "department", "team", "metric"])
        .agg(
            value_sum=("value", "sum"),
            value_mean=("value", "mean"),
            wv=("wv", "sum"),
            volume=("volume", "sum"),
            agg=("agg", "first"),
        )
        .reset_index()
    )
    grouped["value"] = np.select(
        [grouped["agg"] == "sum", grouped["agg"] == "mean"],
        [grouped["value_sum"], grouped["value_mean"]],
        grouped["wv"] / grouped["volume"].where(grouped["volume"] > 0),
    )
    team_rows = grouped[["period", "department", "team", "metric", "value", "volume"]]

    rows: list[pd.DataFrame] = []

    def add(dept: str, metric: str, values: pd.Series, volume: pd.Series | float = 1.0) -> None:
        frame = pd.DataFrame(
            {
                "period": values.index,
                "department": dept,
                "team": None,
                "metric": metric,
                "value": values.to_numpy(dtype=float),
            }
        )
        frame["volume"] = (
            volume.reindex(values.index).to_numpy(float) if isinstance(volume, pd.Series) else volume
        )
        rows.append(frame.dropna(subset=["value"]))

    def count(month: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(month, weights=weights, minlength=months)

    def _by_origin(month_reason: np.ndarray) -> np.ndarray:
        """Month x reason table -> month x originating department table."""
        out = np.zeros((months, len(_DEPT_LIST)))
        for r, dept_code in enumerate(_REASON_DEPT):
            out[:, dept_code] += month_reason[:, r]
        return out

    month = _month(intervals["interval_start"])
    iv = intervals.groupby(month)[["offered", "answered_within_threshold", "abandoned", "answered"]].sum()
    add("contact_centre", "service_level", iv["answered_within_threshold"] / iv["offered"], iv["offered"])
    add("contact_centre", "abandon_rate", iv["abandoned"] / iv["offered"], iv["offered"])
    # month x reason tables of the contacts (summed month by month; every sum is of integers, hence exact)
    ans_n = totals.by_month["answered_phone"]
    add(
        "contact_centre",
        "asa_s",
        _per_period(pidx, ans_n, totals.by_month["answered_phone_wait"]),
        _per_period(pidx, ans_n),
    )
    by_reason = totals.by_reason["all"]
    all_n = by_reason.sum(axis=1)
    size = _per_period(pidx, all_n)
    add("contact_centre", "offered_volume", size.astype(float))
    cost_hour = 28.0
    handle_h = _per_period(pidx, all_n, totals.by_month["handle"], mean=False) / 3600
    add("contact_centre", "cost_per_contact", handle_h / 0.72 * cost_hour / size, size)
    staffed_h = intervals.groupby(month)["agents_staffed"].sum() * 0.5
    add("contact_centre", "occupancy", (handle_h / staffed_h).clip(upper=0.98), staffed_h)
    cc = staff[staff["department"] == "contact_centre"]
    attr = {}
    for p in periods:
        end = p + pd.offsets.MonthBegin(1)
        head = ((cc["hire_date"] < end) & (cc["leave_date"].isna() | (cc["leave_date"] >= p))).sum()
        left = ((cc["leave_date"] >= p) & (cc["leave_date"] < end)).sum()
        attr[p] = 12 * left / max(head, 1)
    add("contact_centre", "agent_attrition", pd.Series(attr), float(len(cc)))

    # back office: cycle time (stages left in the month) and backlog age (stages open at its end) from work items
    for d in ("billing", "fulfilment", "sales"):
        code = _DEPT_LIST.index(d)
        left_n = totals.by_dept["stage_n"][:, code]
        add(
            d,
            "backoffice_cycle_time_h",
            _per_period(pidx, left_n, totals.by_dept["cycle_h"][:, code]),
            _per_period(pidx, left_n),
        )
        open_n = totals.by_dept["backlog_n"][:, code]
        with np.errstate(invalid="ignore", divide="ignore"):
            age = np.where(open_n > 0, totals.by_dept["backlog_h"][:, code] / open_n, np.nan)
        add(d, "backlog_age_h", pd.Series(age, index=periods), 1.0)

    # shared customer metrics per department: outcomes of the contacts and journeys each department causes/serves
    answered_rd = _by_origin(totals.by_reason["answered"])
    resolved_rd = _by_origin(totals.by_reason["resolved"])  # resolved implies answered
    phone_rd = _by_origin(totals.by_reason["phone"])
    within_rd = _by_origin(totals.by_reason["within"])  # within implies phone
    churn = _monthly_churn(active_n, churned_n, periods)
    active = pd.Series(active_n, index=periods)
    bill_codes = [_REASON_LIST.index("bill_query"), _REASON_LIST.index("billing_error")]
    bill = _per_period(pidx, by_reason[:, bill_codes].sum(axis=1))
    for code, d in enumerate(_DEPT_LIST):
        g = pd.Series(push[d], index=periods)
        sign = -1.0 if d in _MISALIGNED and ctx.gaming > 0 else 1.0
        # the department's own contacts; all contacts when it causes none
        mine = [code] if answered_rd[:, code].any() else slice(None)
        mine_n = answered_rd[:, mine].sum(axis=1)
        mine_res = resolved_rd[:, mine].sum(axis=1)
        mine_size = _per_period(pidx, mine_n)
        fcr = _per_period(pidx, mine_n, mine_res) + sign * 0.02 * g
        add(d, "fcr", fcr.clip(0, 1), mine_size)
        ph_d = [code] if phone_rd[:, code].any() else slice(None)
        ph_n = phone_rd[:, ph_d].sum(axis=1)
        ph_sl = _per_period(pidx, ph_n, within_rd[:, ph_d].sum(axis=1))
        if d != "contact_centre":  # the contact centre's own row is the interval-based service level above
            add(d, "service_level", ph_sl, _per_period(pidx, ph_n))
        csat = 0.55 + 0.3 * fcr - 0.1 * (1 - ph_sl) + sign * 0.03 * g + rng.normal(0, 0.005, len(periods))
        add(d, "csat", csat.clip(0, 1), mine_size * 0.3)
        # journeys the department worked on, completed in the month; all journeys when it works on none
        if totals.e2e["dept_n"][code].any():
            t_n, t_met = totals.e2e["dept_n"][code], totals.e2e["dept_met"][code]
        else:
            t_n, t_met = totals.e2e["n"], totals.e2e["met"]
        e2e_d = _per_period(pidx, t_n, t_met).reindex(periods)
        add(d, "e2e_resolution", (e2e_d + sign * 0.03 * g).clip(0, 1), _per_period(pidx, t_n))
        add(d, "churn_rate", (churn * np.exp(-sign * 0.08 * g)).clip(0, 1), active)
        add(d, "nps", (100 * (0.62 * csat - 0.28) + sign * 3 * g).clip(-100, 100), 1.0)
        unresolved = _per_period(pidx, mine_n, mine_n - mine_res, mean=False)
        add(
            d,
            "complaint_rate",
            (1000 * (unresolved.astype(np.int64) * 0.012 / active).clip(lower=0)) * np.exp(-sign * 0.1 * g),
            active / 1000,
        )
    add("billing", "bill_contact_rate", bill / active, active)
    # sales and marketing local metrics
    sales_conv = 0.25 + 0.02 * pd.Series(push["sales"], index=periods) + rng.normal(0, 0.005, len(periods))
    add("sales", "sales_conversion", sales_conv.clip(0, 1), 1.0)
    for d in ("sales", "marketing"):
        g = pd.Series(push[d], index=periods)
        add(d, "avg_sales_price", 35 + 2.5 * g + rng.normal(0, 0.3, len(periods)), 1.0)
    add(
        "marketing",
        "cross_sell_rate",
        (0.08 + 0.01 * pd.Series(push["marketing"], index=periods)).clip(0, 1),
        1.0,
    )
    own = em[em["metric"] == "own_sla_met"].assign(wv=lambda f: f["value"] * f["volume"])
    own = own.groupby(["period", "department"])[["wv", "volume"]].sum()
    for d in ("contact_centre", "billing", "fulfilment"):
        sub = own.xs(d, level="department")
        add(d, "own_sla_met", sub["wv"] / sub["volume"], sub["volume"])
    dept_rows = pd.concat(rows, ignore_index=True)
    out = pd.concat([team_rows, dept_rows], ignore_index=True)
    out["period"] = pd.to_datetime(out["period"])
    return out.sort_values(["period", "department", "team", "metric"], na_position="first").reset_index(
        drop=True
    )


# ------------------------------------------------------------------------------------------------ planted graph
def _plant_graph(
    rng: np.random.Generator,
    emp_metrics: pd.DataFrame,
    dept_metrics: pd.DataFrame,
    staff: pd.DataFrame,
    plant: object,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Overwrite the graph targets' month-to-month variation with a known log-linear structural model.

    For each target *y* of the graph, in topological order (parents first), at the level and with the unit matching
    :func:`cx_framework.conflicts.evidence.estimate_graph` uses, every row of *y* at that level becomes

        log y[u, t] = m_u + Σ_j β_j · (log x_j[u, t − lag_j] − mean_u log x_j) + σ_y · e,   e ~ N(0, 1)

    where ``m_u`` is the unit's mean log of the generated value (levels stay realistic), β the planted
    elasticities and σ_y half the generated within-unit log standard deviation (at least 0.02). Rows whose parent
    is missing or ≤ 0 get no parent term (the estimator drops them). Noise is independent of the parents, so the
    regression the estimator runs is correctly specified and recovers β. Team rows carry their employees: each
    employee's value of the metric that month is scaled by the team row's factor, so the roll-up still holds.
    Shares are not clipped to [0, 1] (a clip would bend the log-linear relation); values stay close to the
    generated ones. Raises ``ConfigError`` for a graph with a directed cycle (no structural order).
    """
    from cx_framework.config import load_config
    from cx_framework.config.models import CausalGraph
    from cx_framework.conflicts import evidence
    from cx_framework.conflicts.graph import elasticity_matrix, find_cycle
    from cx_framework.errors import ConfigError

    configs = Path(__file__).resolve().parent.parent / "configs"
    graph = plant if isinstance(plant, CausalGraph) else load_config(configs).causal_graph
    if find_cycle(elasticity_matrix(graph)) is not None:
        raise ConfigError(
            "plant_graph needs an acyclic graph (a structural order of the metrics); this one has a loop",
            key="edges",
        )
    parents: dict[str, list[tuple[str, int, float]]] = {}
    for e in graph.edges:
        parents.setdefault(e.target, []).append((e.source, e.lag_periods, e.elasticity))
    order: list[str] = []
    done: set[str] = set()
    pending = list(graph.nodes)
    while pending:  # Kahn's order on a small graph
        ready = [n for n in pending if all(p in done for p, _, _ in parents.get(n, ()))]
        order += ready
        done.update(ready)
        pending = [n for n in pending if n not in done]

    dm = dept_metrics.copy()
    month = evidence._month_number(dm["period"])
    unit = np.where(dm["team"].notna(), dm["team"].astype(object), dm["department"].astype(object))
    is_team = dm["team"].notna().to_numpy()
    team_factor: list[pd.DataFrame] = []
    for target in order:
        if target not in parents:
            continue
        panels = evidence._panels(dm)
        spec = [(p, lag) for p, lag, _ in parents[target]]
        level, data, how = evidence._choose_level(panels, target, spec)
        if level is None or data is None:
            continue
        y = data[target].to_numpy(dtype=float)
        units = data["unit"].to_numpy()
        log_y = np.log(np.where(y > 0, y, np.nan))
        frame = pd.DataFrame({"unit": units, "log_y": log_y})
        level_u = frame.groupby("unit")["log_y"].transform("mean").to_numpy()
        # a unit whose generated values are all ≤ 0 (e.g. no leavers) takes the overall positive level
        fallback = float(np.nanmean(log_y)) if np.isfinite(log_y).any() else np.log(0.05)
        level_u = np.where(np.isfinite(level_u), level_u, fallback)
        within = np.nanstd(log_y - level_u) if np.isfinite(log_y).any() else 0.0
        sigma = max(0.02, 0.5 * float(within))
        dev = np.zeros(len(data))
        for source, _lag, beta in parents[target]:
            if source not in how:
                continue
            x = data[source].to_numpy(dtype=float)
            lx = np.log(np.where(x > 0, x, np.nan))
            centred = lx - pd.Series(lx).groupby(units).transform("mean").to_numpy()
            dev += beta * np.nan_to_num(centred)
        new = np.exp(level_u + dev + sigma * rng.standard_normal(len(data)))
        rows = (dm["metric"].to_numpy() == target) & (is_team if level == "team" else ~is_team)
        idx = pd.MultiIndex.from_arrays([unit[rows], month[rows]])
        planted = pd.Series(new, index=pd.MultiIndex.from_arrays([units, data["month"].to_numpy()]))
        values = planted.reindex(idx).to_numpy()
        old = dm.loc[rows, "value"].to_numpy(dtype=float)
        dm.loc[rows, "value"] = np.round(values, 9)
        if level == "team":
            team_factor.append(
                pd.DataFrame(
                    {
                        "period": dm.loc[rows, "period"].to_numpy(),
                        "team": dm.loc[rows, "team"].to_numpy(),
                        "metric": target,
                        "old": old,
                        "new": dm.loc[rows, "value"].to_numpy(dtype=float),
                    }
                )
            )
    em = emp_metrics
    if team_factor:
        factors = pd.concat(team_factor, ignore_index=True)
        em = emp_metrics.copy()
        team_of = em["employee_id"].map(staff.set_index("employee_id")["team"])
        keyed = pd.DataFrame({"period": em["period"], "team": team_of, "metric": em["metric"]})
        joined = keyed.merge(factors, on=["period", "team", "metric"], how="left")
        hit = joined["new"].notna().to_numpy()
        old = joined["old"].to_numpy(dtype=float)
        scale = np.where(old > 0, joined["new"].to_numpy(dtype=float) / np.where(old > 0, old, 1.0), np.nan)
        value = em["value"].to_numpy(dtype=float)
        value = np.where(hit & np.isfinite(scale), value * scale, value)
        value = np.where(hit & ~np.isfinite(scale), joined["new"].to_numpy(dtype=float), value)
        em["value"] = value
    planted_values = {evidence.edge_key(e.source, e.target): float(e.elasticity) for e in graph.edges}
    return em, dm, planted_values
