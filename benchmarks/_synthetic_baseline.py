"""FROZEN COPY — the pandas implementation of ``cx_framework.synthetic`` before the numpy rewrite (commit 432cd24).

Kept only as the baseline that ``benchmarks/bench_synthetic.py`` times and compares against (same seed -> identical
tables). Do not edit or import it from library code; ``SAMPLE_DIR`` below points at ``benchmarks/../data/sample``.

Original module docstring follows.

A seeded synthetic organisation with planted ground truth.

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
  pushes its own numbers are months in which its customers fare worse (low empirical scorecard alignment).

Waits are drawn from the Erlang C model of each interval's offered load and staffing (with exponential patience), so
interval service levels follow the staffing; some months are deliberately under-budgeted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["SyntheticOrg", "Truth", "generate_organisation", "load_sample", "SAMPLE_DIR", "TABLE_NAMES"]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
TABLE_NAMES = (
    "intervals",
    "contacts",
    "customers",
    "employees",
    "employee_metrics",
    "department_metrics",
    "work_items",
)

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

    def write(self, directory: str | Path) -> None:
        """Write each table as ``<name>.parquet`` and the truth as ``truth.json`` (atomically, file by file)."""
        import io as _io

        from cx_framework.io import write_bytes_atomic, write_text_atomic

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables().items():
            buffer = _io.BytesIO()
            # zstd at a high level keeps the committed sample small (it is written once, read often)
            frame.to_parquet(buffer, index=False, compression="zstd", compression_level=19)
            write_bytes_atomic(directory / f"{name}.parquet", buffer.getvalue())
        write_text_atomic(directory / "truth.json", self.truth.to_json())


def load_sample(directory: str | Path | None = None, *, validate: bool = True) -> SyntheticOrg:
    """Load the committed sample organisation (``data/sample``) as a :class:`SyntheticOrg`.

    The sample was made with ``cx generate data/sample --customers 12000 --seed 0`` (12k customers keeps it under 5 MB).
    """
    from cx_framework.io import load_data_dir

    directory = Path(directory) if directory is not None else SAMPLE_DIR
    if validate:
        frames = load_data_dir(directory)
    else:
        frames = {name: pd.read_parquet(directory / f"{name}.parquet") for name in TABLE_NAMES}
    truth = Truth.from_json((directory / "truth.json").read_text(encoding="utf-8"))
    return SyntheticOrg(**{name: frames[name] for name in TABLE_NAMES}, truth=truth)


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
    progress: object | None = None,
) -> SyntheticOrg:
    """Generate a synthetic organisation with planted effects.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives identical tables.
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
        Mean first contacts per customer per month (all channels).
    sl_churn_log_odds : float
        Planted change in next-month churn log-odds per +1.0 of experienced service level.
    progress : callable, optional
        ``progress(step: str, fraction: float)`` called as the generator advances (the CLI shows a bar).

    Returns
    -------
    SyntheticOrg
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

    rng = np.random.default_rng(seed)
    gaming = 1.0 if scheme == "siloed" else 0.0
    periods = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), periods=months, freq="MS")
    window_end = periods[-1] + pd.offsets.MonthBegin(1)

    cust = _customers(rng, customers, periods)
    staff = _employees(rng, employees, periods)
    tick("customers and employees", 0.05)

    # monthly department "push" on local numbers (misaligned: at the customer's expense) and staffing budget
    push = {d: rng.normal(0.0, 1.0, months) for d in _DEPARTMENTS}
    budget = np.clip(rng.normal(0.97, 0.12, months), 0.7, 1.2)

    segment_effect = {"consumer": 0.0, "small_business": -0.3, "premium": -0.6}
    base_logit = -4.4
    churn_date = np.full(customers, np.datetime64("NaT"), dtype="datetime64[ns]")
    start_ns = cust["start_date"].to_numpy()
    seg_eff = cust["segment"].map(segment_effect).to_numpy()
    cust_rate = contact_rate * rng.gamma(4.0, 0.25, customers)

    agents = staff[staff["role"] == "agent"]
    agent_ids = agents["employee_id"].to_numpy()
    # AHT focus: how hard each agent chases short calls (planted gaming under the siloed scheme)
    aht_focus = gaming * rng.uniform(0.0, 1.0, len(agent_ids))
    agent_aht = 380.0 - 90.0 * aht_focus + rng.normal(0, 20, len(agent_ids))
    aht_fcr_slope = 0.0012  # + share of FCR per second of agent mean handle time (planted)
    agent_fcr = np.clip(0.74 + aht_fcr_slope * (agent_aht - 340.0), 0.3, 0.97)
    agent_quality = np.clip(rng.normal(86, 4, len(agent_ids)) - 6 * aht_focus, 50, 100)

    contact_frames = []
    interval_frames = []
    for m, period in enumerate(periods):
        tick("contacts and service", 0.05 + 0.6 * m / months)
        month_end = period + pd.offsets.MonthBegin(1)
        active = (start_ns < month_end.to_datetime64()) & (
            np.isnat(churn_date) | (churn_date >= month_end.to_datetime64())
        )
        contacts_m = _month_contacts(rng, period, np.flatnonzero(active), cust_rate)
        contacts_m, intervals_m = _serve(rng, contacts_m, period, budget[m], agent_ids, agent_aht, agent_fcr)
        contact_frames.append(contacts_m)
        interval_frames.append(intervals_m)
        # churn in the following month depends on the service experienced this month
        phone = contacts_m[contacts_m["channel"] == "phone"]
        by_cust = phone.groupby("customer_idx")["within"].agg(["sum", "count"])
        sl_exp = np.full(customers, np.nan)
        sl_exp[by_cust.index.to_numpy()] = by_cust["sum"].to_numpy() / by_cust["count"].to_numpy()
        logit = (
            base_logit
            + seg_eff
            + np.where(np.isnan(sl_exp), 0.0, sl_churn_log_odds * (np.nan_to_num(sl_exp) - 0.8))
        )
        churns = active & (rng.random(customers) < 1.0 / (1.0 + np.exp(-logit)))
        if m + 1 < months:
            nxt = periods[m + 1]
            days = rng.integers(0, nxt.days_in_month, customers).astype("timedelta64[D]")
            churn_date = np.where(churns & np.isnat(churn_date), nxt.to_datetime64() + days, churn_date)

    contacts = pd.concat(contact_frames, ignore_index=True)
    intervals = pd.concat(interval_frames, ignore_index=True)
    cust["churn_date"] = pd.to_datetime(churn_date)
    tick("work items", 0.7)

    work_items, journey_stats = _work_items(rng, contacts, periods, push, window_end)
    tick("employee metrics", 0.8)
    contacts, sales_focus = _assign_back_office_calls(rng, contacts, staff, gaming)
    emp_metrics, bo_slope = _employee_metrics(
        rng, contacts, staff, periods, push, agent_quality, gaming, work_items, cust, sales_focus
    )
    tick("department metrics", 0.9)
    dept_metrics = _department_metrics(
        rng, emp_metrics, staff, contacts, intervals, cust, work_items, periods, push, journey_stats
    )

    contacts["timestamp"] = contacts["timestamp"].dt.floor("s")
    contacts = contacts.sort_values("timestamp", kind="stable").reset_index(drop=True)
    contacts["contact_id"] = np.char.add("K", np.char.zfill(np.arange(len(contacts)).astype(str), 8))
    contacts["customer_id"] = _customer_ids(contacts["customer_idx"].to_numpy())
    contacts["resolved_first_contact"] = contacts["resolved"]
    for col in ("reason", "channel", "queue"):
        contacts[col] = contacts[col].astype(str)
    contacts_out = contacts[
        [
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
        ]
    ].reset_index(drop=True)

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
        },
    )
    tick("done", 1.0)
    return SyntheticOrg(
        intervals=intervals,
        contacts=contacts_out,
        customers=cust,
        employees=staff,
        employee_metrics=emp_metrics,
        department_metrics=dept_metrics,
        work_items=work_items,
        truth=truth,
    )


# ------------------------------------------------------------------------------------------------ pieces
def _month(values: pd.Series) -> pd.Series:
    """Month start of each timestamp (numpy datetime64[M] truncation; much faster than to_period)."""
    out = values.to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    return pd.Series(out, index=values.index, name=values.name)


def _customer_ids(index: np.ndarray) -> np.ndarray:
    return np.char.add("C", np.char.zfill(index.astype(str), 7))


def _customers(rng: np.random.Generator, n: int, periods: pd.DatetimeIndex) -> pd.DataFrame:
    segment = rng.choice(["consumer", "small_business", "premium"], n, p=[0.7, 0.2, 0.1])
    product = rng.choice(["broadband", "mobile", "bundle"], n, p=[0.4, 0.35, 0.25])
    base = {"broadband": 32.0, "mobile": 22.0, "bundle": 55.0}
    uplift = {"consumer": 1.0, "small_business": 1.6, "premium": 2.2}
    revenue = (
        pd.Series(product).map(base).to_numpy()
        * pd.Series(segment).map(uplift).to_numpy()
        * rng.lognormal(0.0, 0.15, n)
    )
    first = periods[0].to_datetime64()
    # 75 % were customers before the window (up to 6 years), 25 % join during its first half
    tenured = rng.random(n) < 0.75
    days_before = rng.integers(1, 6 * 365, n).astype("timedelta64[D]")
    span_days = max(1, (periods[len(periods) // 2] - periods[0]).days)
    days_after = rng.integers(0, span_days, n).astype("timedelta64[D]")
    start_date = np.where(tenured, first - days_before, first + days_after).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "customer_id": _customer_ids(np.arange(n)),
            "segment": segment,
            "product": product,
            "start_date": start_date,
            "monthly_revenue": np.round(revenue, 2),
            "churn_date": pd.NaT,
        }
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
) -> pd.DataFrame:
    counts = rng.poisson(cust_rate[active_idx])
    cidx = np.repeat(active_idx, counts)
    n = len(cidx)
    reasons = np.array(list(_REASONS))
    probs = np.array([v[0] for v in _REASONS.values()])
    reason = reasons[rng.choice(len(reasons), n, p=probs / probs.sum())]
    channel = rng.choice(np.array(["phone", "email", "chat"]), n, p=[0.7, 0.15, 0.15])
    day = rng.integers(0, period.days_in_month, n)
    # intraday profile: morning peak, smaller after-lunch peak
    slot_weights = np.array([3, 5, 8, 9, 9, 8, 6, 6, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1], float)
    slot = rng.choice(len(slot_weights), n, p=slot_weights / slot_weights.sum())
    seconds = _OPEN_HOUR * 3600 + slot * _INTERVAL_S + rng.integers(0, _INTERVAL_S, n)
    timestamp = period.to_datetime64() + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    return pd.DataFrame(
        {
            "customer_idx": cidx,
            # categoricals: string columns of millions of rows are slow to map and group
            "reason": pd.Categorical(reason, categories=list(_REASONS)),
            "channel": pd.Categorical(channel, categories=["phone", "email", "chat"]),
            "timestamp": timestamp,
            "is_repeat": False,
        }
    )


def _serve(
    rng: np.random.Generator,
    contacts: pd.DataFrame,
    period: pd.Timestamp,
    budget: float,
    agent_ids: np.ndarray,
    agent_aht: np.ndarray,
    agent_fcr: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign agents, handle times, resolution and repeats; queue phone calls through Erlang C intervals."""
    n = len(contacts)
    agent = rng.integers(0, len(agent_ids), n)
    factor = contacts["reason"].map({r: v[2] for r, v in _REASONS.items()}).to_numpy()
    handle = np.maximum(1.0, np.round(rng.gamma(4.0, agent_aht[agent] * factor / 4.0)))
    resolved = rng.random(n) < agent_fcr[agent]
    contacts = contacts.assign(agent_idx=agent, handle_s=handle, resolved=resolved)
    # unresolved contacts come back within a week (60 %), same reason and channel mix
    back = (~resolved) & (rng.random(n) < 0.6)
    repeats = contacts[back].copy()
    delay = rng.uniform(0.2, 7.0, len(repeats)) * 86400
    repeats["timestamp"] = repeats["timestamp"] + pd.to_timedelta(delay, unit="s")
    month_end = period + pd.offsets.MonthBegin(1)
    repeats = repeats[repeats["timestamp"] < month_end]
    tod = (
        repeats["timestamp"].dt.hour * 3600
        + repeats["timestamp"].dt.minute * 60
        + repeats["timestamp"].dt.second
    )
    shift = np.clip(tod, _OPEN_HOUR * 3600, _CLOSE_HOUR * 3600 - 1) - tod
    repeats["timestamp"] = repeats["timestamp"] + pd.to_timedelta(shift.to_numpy(), unit="s")
    m = len(repeats)
    ragent = rng.integers(0, len(agent_ids), m)
    repeats = repeats.assign(
        agent_idx=ragent,
        handle_s=np.maximum(1.0, np.round(rng.gamma(4.0, agent_aht[ragent] * 1.1 / 4.0))),
        resolved=rng.random(m) < agent_fcr[ragent],
        is_repeat=True,
    )
    contacts = pd.concat([contacts, repeats], ignore_index=True)
    contacts["queue"] = pd.Categorical(
        contacts["reason"].map({r: v[1] for r, v in _REASONS.items()}).astype(str), categories=list(_QUEUES)
    )
    contacts["interval_start"] = contacts["timestamp"].dt.floor(f"{_INTERVAL_S}s")

    # intervals: every opening-hours slot of every queue
    days = pd.date_range(period, period + pd.offsets.MonthEnd(0), freq="D")
    slots = pd.to_timedelta(np.arange(_OPEN_HOUR * 3600, _CLOSE_HOUR * 3600, _INTERVAL_S), unit="s")
    starts = (days.to_numpy()[:, None] + slots.to_numpy()[None, :]).ravel()
    grid = pd.MultiIndex.from_product([starts, _QUEUES], names=["interval_start", "queue"]).to_frame(
        index=False
    )
    phone = contacts["channel"] == "phone"
    load = (
        contacts[phone]
        .groupby(["interval_start", "queue"])
        .agg(offered=("handle_s", "size"), mean_handle=("handle_s", "mean"))
    )
    grid = grid.merge(load.reset_index(), on=["interval_start", "queue"], how="left")
    grid["offered"] = grid["offered"].fillna(0).astype(int)
    default_aht = {"general": 380.0, "billing": 360.0, "sales": 440.0}
    grid["mean_handle"] = grid["mean_handle"].fillna(grid["queue"].map(default_aht))
    # the plan staffs for the expected load; the month's budget and day-to-day noise decide what is there
    expected = grid.groupby(["queue", grid["interval_start"].dt.time])["offered"].transform("mean")
    needed = _agents_for_target(expected.to_numpy(float), grid["queue"].map(default_aht).to_numpy())
    staffed = np.maximum(1, np.round(needed * budget * rng.uniform(0.75, 1.15, len(grid))))
    grid["agents_staffed"] = staffed.astype(int)
    pwait, rate = _erlang_sl(grid["offered"].to_numpy(float), grid["mean_handle"].to_numpy(), staffed)
    grid["pwait"], grid["rate"] = pwait, rate

    # waits of phone calls: wait with P(wait); conditional wait ~ Exp(rate); abandon when patience runs out
    contacts = contacts.merge(
        grid[["interval_start", "queue", "pwait", "rate"]], on=["interval_start", "queue"], how="left"
    )
    k = len(contacts)
    waits = np.where(
        rng.random(k) < contacts["pwait"].fillna(0).to_numpy(),
        rng.exponential(1.0, k) / contacts["rate"].fillna(1.0).to_numpy(),
        0.0,
    )
    patience = rng.exponential(150.0, k)
    is_phone = (contacts["channel"] == "phone").to_numpy()
    abandoned = is_phone & (waits > patience)
    wait_s = np.where(abandoned, patience, waits)
    wait_s = np.where(
        contacts["channel"].to_numpy() == "email",
        rng.exponential(6 * 3600, k),
        np.where(contacts["channel"].to_numpy() == "chat", rng.exponential(45.0, k), wait_s),
    )
    wait_s = np.round(wait_s)  # whole seconds, so the within-threshold flag matches the stored wait
    contacts["wait_s"] = wait_s
    contacts["abandoned"] = abandoned
    contacts["within"] = is_phone & ~abandoned & (wait_s <= _THRESHOLD_S)
    contacts.loc[abandoned, "handle_s"] = 0.0
    contacts["resolved"] = contacts["resolved"] & ~abandoned
    contacts["agent_id"] = np.where(abandoned, None, agent_ids[contacts["agent_idx"].to_numpy()])
    contacts = contacts.drop(columns=["pwait", "rate"])

    ph = contacts[is_phone]
    ph = ph.assign(is_answered=~ph["abandoned"])
    agg = ph.groupby(["interval_start", "queue"]).agg(
        answered=("is_answered", "sum"),
        answered_within_threshold=("within", "sum"),
        abandoned=("abandoned", "sum"),
        handle_sum=("handle_s", "sum"),
    )
    intervals = grid[["interval_start", "queue", "offered", "agents_staffed", "mean_handle"]].merge(
        agg.reset_index(), on=["interval_start", "queue"], how="left"
    )
    for col in ("answered", "answered_within_threshold", "abandoned", "handle_sum"):
        intervals[col] = intervals[col].fillna(0)
    # offered counts calls whose interval is in opening hours; all generated calls are
    intervals["offered"] = (intervals["answered"] + intervals["abandoned"]).astype(int)
    intervals["aht_s"] = np.where(
        intervals["answered"] > 0,
        intervals["handle_sum"] / np.maximum(intervals["answered"], 1),
        intervals["mean_handle"],
    ).round(1)
    intervals["threshold_s"] = _THRESHOLD_S
    intervals = intervals.astype({"answered": int, "answered_within_threshold": int, "abandoned": int})
    intervals = intervals[
        [
            "interval_start",
            "queue",
            "offered",
            "answered",
            "answered_within_threshold",
            "abandoned",
            "aht_s",
            "agents_staffed",
            "threshold_s",
        ]
    ]
    return contacts, intervals


def _work_items(
    rng: np.random.Generator,
    contacts: pd.DataFrame,
    periods: pd.DatetimeIndex,
    push: dict[str, np.ndarray],
    window_end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Journeys opened by trigger contacts; stage lead times from the SLA config's distributions.

    In misaligned departments a month of pushing the own SLA shortens the department's own stage time a little and
    lengthens the hand-off wait into it a lot (easy items first, hard ones age in the queue).
    """
    frames = []
    month_idx = {p: i for i, p in enumerate(periods)}
    first = contacts[~contacts["is_repeat"]]
    counter = 0
    for journey, (triggers, p_open, stages) in _JOURNEYS.items():
        src = first[first["reason"].isin(triggers)]
        src = src[rng.random(len(src)) < p_open]
        n = len(src)
        t = src["timestamp"].to_numpy()
        m = _month(src["timestamp"]).map(month_idx).to_numpy()
        ids = np.char.add("W", np.char.zfill(np.arange(counter, counter + n).astype(str), 7))
        counter += n
        for stage, dept, shape, scale, handoff in stages:
            g = push[dept][m]
            # misaligned: pushing the own SLA ages the hand-off queue; aligned: a good month is good for both
            wait_effect, stage_effect = (0.45, -0.08) if dept in _MISALIGNED else (-0.15, -0.12)
            if handoff > 0:
                t = (
                    t
                    + pd.to_timedelta(rng.exponential(handoff * np.exp(wait_effect * g)), unit="h").to_numpy()
                )
            entered = t
            t = t + pd.to_timedelta(rng.gamma(shape, scale * np.exp(stage_effect * g)), unit="h").to_numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "item_id": ids,
                        "stage": stage,
                        "customer_id": src["customer_idx"].to_numpy(),
                        "journey": journey,
                        "department": dept,
                        "entered_at": entered,
                        "left_at": t,
                    }
                )
            )
    items = pd.concat(frames, ignore_index=True)
    items["entered_at"] = items["entered_at"].dt.floor("min")
    items["left_at"] = items["left_at"].dt.floor("min")
    items = items[items["entered_at"] < window_end.to_datetime64()].copy()
    items.loc[items["left_at"] >= window_end.to_datetime64(), "left_at"] = pd.NaT
    items["customer_id"] = _customer_ids(items["customer_id"].to_numpy())
    return items.reset_index(drop=True), {}


def _assign_back_office_calls(
    rng: np.random.Generator, contacts: pd.DataFrame, staff: pd.DataFrame, gaming: float
) -> tuple[pd.DataFrame, pd.Series]:
    """At peaks back-office staff take some billing/general calls; those who chase sales take fewer."""
    bo = staff[staff["department"].isin(["billing", "fulfilment"])].reset_index(drop=True)
    sales_focus = gaming * rng.uniform(0.0, 1.0, len(bo))
    willingness = np.clip(1.0 - 0.8 * sales_focus, 0.05, 1.0)
    phone_answered = contacts.index[
        (contacts["channel"] == "phone")
        & contacts["agent_id"].notna()
        & contacts["queue"].isin(["billing", "general"]).to_numpy()
    ]
    take = phone_answered[rng.random(len(phone_answered)) < 0.08]
    who = rng.choice(len(bo), len(take), p=willingness / willingness.sum())
    contacts = contacts.copy()
    contacts.loc[take, "agent_id"] = bo["employee_id"].to_numpy()[who]
    reps = staff.loc[staff["role"] == "sales_rep", "employee_id"].to_numpy()
    sales_calls = contacts.index[
        (contacts["queue"] == "sales").to_numpy() & contacts["agent_id"].notna().to_numpy()
    ]
    sales_calls = sales_calls[rng.random(len(sales_calls)) < 0.6]
    contacts.loc[sales_calls, "agent_id"] = reps[rng.integers(0, len(reps), len(sales_calls))]
    return contacts, pd.Series(sales_focus, index=bo["employee_id"].to_numpy())


def _employee_metrics(
    rng: np.random.Generator,
    contacts: pd.DataFrame,
    staff: pd.DataFrame,
    periods: pd.DatetimeIndex,
    push: dict[str, np.ndarray],
    agent_quality: np.ndarray,
    gaming: float,
    work_items: pd.DataFrame,
    cust: pd.DataFrame,
    sales_focus: pd.Series,
) -> tuple[pd.DataFrame, float]:
    covered = staff[staff["role"].isin(["agent", "billing_specialist", "fulfilment_specialist", "sales_rep"])]
    months = len(periods)
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

    # contact-based metrics per employee and month
    handled = contacts[contacts["agent_id"].notna()].copy()
    handled["period"] = _month(handled["timestamp"])
    rng_csat = rng.random(len(handled))
    wait_pen = np.clip(handled["wait_s"].to_numpy() / 600.0, 0, 1)
    push_cs = np.zeros(len(handled))
    origin = handled["reason"].map(_REASON_ORIGIN).to_numpy()
    mi = handled["period"].map({p: i for i, p in enumerate(periods)}).to_numpy()
    for d in _DEPARTMENTS:
        sel = origin == d
        sign = -1.0 if d in _MISALIGNED and gaming else 1.0
        push_cs[sel] = sign * 0.05 * push[d][mi[sel]]
    p_sat = np.clip(0.55 + 0.3 * handled["resolved"].to_numpy() - 0.2 * wait_pen + push_cs, 0.02, 0.98)
    handled["satisfied"] = rng_csat < p_sat
    handled["responded"] = rng.random(len(handled)) < 0.3
    handled["sat_resp"] = handled["satisfied"] & handled["responded"]
    per = (
        handled.groupby(["period", "agent_id"])
        .agg(
            n=("handle_s", "size"),
            handle=("handle_s", "sum"),
            resolved=("resolved", "sum"),
            repeats=("is_repeat", "sum"),
            responses=("responded", "sum"),
            sat=("sat_resp", "sum"),
        )
        .reset_index()
        .rename(columns={"agent_id": "employee_id"})
    )
    base = base.merge(per, on=["period", "employee_id"], how="left")
    for col in ("n", "handle", "resolved", "repeats", "responses", "sat"):
        base[col] = base[col].fillna(0.0)

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
    phone = contacts[contacts["channel"] == "phone"]
    cc_sl = phone.groupby(_month(phone["timestamp"]))["within"].mean()
    wi = work_items.dropna(subset=["left_at"]).copy()
    wi["period"] = _month(wi["left_at"])
    wi["met"] = (wi["left_at"] - wi["entered_at"]).dt.total_seconds() / 3600 <= wi["stage"].map(_STAGE_SLA_H)
    stage_sla = wi.groupby(["period", "department"])["met"].mean()
    own = np.array([cc_sl.get(p, np.nan) for p in base["period"]])
    key = pd.MultiIndex.from_arrays([base["period"], base["department"]])
    dept_own = stage_sla.reindex(key).to_numpy()
    own = np.where(np.isnan(dept_own), own, dept_own)
    own = np.clip(own + rng.normal(0, 0.02, len(base)), 0, 1)

    # e2e resolution and churn of the customers each team serves (team-level values, shared by the team)
    e2e = _journey_e2e(work_items)
    e2e_by_period = e2e.groupby("period")["met"].mean()
    e2e_val = np.clip(
        base["period"].map(e2e_by_period).to_numpy()
        - np.where(misaligned, 0.03, -0.01) * g
        + rng.normal(0, 0.01, len(base)),
        0,
        1,
    )
    churn = _monthly_churn(cust, periods)
    churn_val = np.clip(
        base["period"].map(churn).to_numpy()
        * np.exp(np.where(misaligned, 0.08, -0.03) * g)
        * rng.lognormal(0, 0.05, len(base)),
        0,
        1,
    )
    aq = dict(zip(staff[staff["role"] == "agent"]["employee_id"], agent_quality, strict=True))
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
    frames = []
    for metric, (value, volume) in values.items():
        value = np.asarray(value, float)
        keep = ~np.isnan(value)
        frames.append(
            pd.DataFrame(
                {
                    "period": base["period"][keep].to_numpy(),
                    "employee_id": base["employee_id"][keep].to_numpy(),
                    "metric": metric,
                    "value": np.round(value[keep], 6),
                    "volume": np.asarray(volume, float)[keep],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    _ = months
    return out, slope


def _journey_e2e(work_items: pd.DataFrame) -> pd.DataFrame:
    """One row per completed journey: completion period, journey, departments touched, promise met."""
    wi = work_items.assign(is_open=work_items["left_at"].isna())
    done = wi.groupby("item_id").agg(
        journey=("journey", "first"),
        start=("entered_at", "min"),
        end=("left_at", "max"),
        open=("is_open", "any"),
    )
    done = done[~done["open"]]
    hours = (done["end"] - done["start"]).dt.total_seconds() / 3600
    done["met"] = hours <= done["journey"].map(_PROMISE_H)
    done["period"] = _month(done["end"])
    return done.reset_index()


def _monthly_churn(cust: pd.DataFrame, periods: pd.DatetimeIndex) -> pd.Series:
    """Customers churning in the month / customers active at its start."""
    out = {}
    for p in periods:
        end = p + pd.offsets.MonthBegin(1)
        active = (cust["start_date"] < p) & (cust["churn_date"].isna() | (cust["churn_date"] >= p))
        churned = active & (cust["churn_date"] >= p) & (cust["churn_date"] < end)
        out[p] = churned.sum() / max(active.sum(), 1)
    return pd.Series(out)


def _department_metrics(
    rng: np.random.Generator,
    emp_metrics: pd.DataFrame,
    staff: pd.DataFrame,
    contacts: pd.DataFrame,
    intervals: pd.DataFrame,
    cust: pd.DataFrame,
    work_items: pd.DataFrame,
    periods: pd.DatetimeIndex,
    push: dict[str, np.ndarray],
    journey_stats: dict[str, object],
) -> pd.DataFrame:
    """Team rows roll up employee metrics exactly; department rows come from contacts, intervals, items, customers."""
    from cx_framework.config import load_config

    catalogue = load_config(Path(__file__).resolve().parent.parent / "configs").metrics.by_id  # repo configs/
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

    month = _month(intervals["interval_start"])
    iv = intervals.groupby(month)[["offered", "answered_within_threshold", "abandoned", "answered"]].sum()
    add("contact_centre", "service_level", iv["answered_within_threshold"] / iv["offered"], iv["offered"])
    add("contact_centre", "abandon_rate", iv["abandoned"] / iv["offered"], iv["offered"])
    c = contacts.copy()
    c["period"] = _month(c["timestamp"])
    ph = c[(c["channel"] == "phone") & ~c["abandoned"]]
    add("contact_centre", "asa_s", ph.groupby("period")["wait_s"].mean(), ph.groupby("period").size())
    add("contact_centre", "offered_volume", c.groupby("period").size().astype(float))
    cost_hour = 28.0
    handle_h = c.groupby("period")["handle_s"].sum() / 3600
    add(
        "contact_centre",
        "cost_per_contact",
        handle_h / 0.72 * cost_hour / c.groupby("period").size(),
        c.groupby("period").size(),
    )
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

    # back office: cycle time, backlog age and own-stage SLA from work items
    wi = work_items.copy()
    wi["hours"] = (wi["left_at"] - wi["entered_at"]).dt.total_seconds() / 3600
    wi["period"] = _month(wi["left_at"])
    wi["met"] = wi["hours"] <= wi["stage"].map(_STAGE_SLA_H)
    for d in ("billing", "fulfilment", "sales"):
        sub = wi[(wi["department"] == d) & wi["left_at"].notna()]
        add(d, "backoffice_cycle_time_h", sub.groupby("period")["hours"].mean(), sub.groupby("period").size())
        age = {}
        for p in periods:
            end = p + pd.offsets.MonthBegin(1)
            open_ = wi[
                (wi["department"] == d)
                & (wi["entered_at"] < end)
                & (wi["left_at"].isna() | (wi["left_at"] >= end))
            ]
            age[p] = ((end - open_["entered_at"]).dt.total_seconds() / 3600).mean() if len(open_) else np.nan
        add(d, "backlog_age_h", pd.Series(age), 1.0)

    # shared customer metrics per department: outcomes of the contacts and journeys each department causes/serves
    e2e = _journey_e2e(work_items)
    touches = work_items[["item_id", "department"]].drop_duplicates()
    e2e_by_dept = e2e.merge(touches, on="item_id")
    c["origin"] = c["reason"].map(_REASON_ORIGIN)
    answered = c[~c["abandoned"]]
    churn = _monthly_churn(cust, periods)
    active = pd.Series(
        {
            p: ((cust["start_date"] < p) & (cust["churn_date"].isna() | (cust["churn_date"] >= p))).sum()
            for p in periods
        }
    )
    bill = c[c["reason"].isin(["bill_query", "billing_error"])].groupby("period").size()
    for d in _DEPARTMENTS:
        g = pd.Series(push[d], index=periods)
        sign = -1.0 if d in _MISALIGNED else 1.0
        mine = answered[answered["origin"] == d] if (answered["origin"] == d).any() else answered
        fcr = mine.groupby("period")["resolved"].mean() + sign * 0.02 * g
        add(d, "fcr", fcr.clip(0, 1), mine.groupby("period").size())
        ph_d = c[(c["channel"] == "phone") & (c["origin"] == d)]
        ph_d = ph_d if len(ph_d) else c[c["channel"] == "phone"]
        if d != "contact_centre":  # the contact centre's own row is the interval-based service level above
            add(d, "service_level", ph_d.groupby("period")["within"].mean(), ph_d.groupby("period").size())
        csat = (
            0.55
            + 0.3 * fcr
            - 0.1 * (1 - ph_d.groupby("period")["within"].mean())
            + sign * 0.03 * g
            + rng.normal(0, 0.005, len(periods))
        )
        add(d, "csat", csat.clip(0, 1), mine.groupby("period").size() * 0.3)
        touched = e2e_by_dept[e2e_by_dept["department"] == d]
        touched = touched if len(touched) else e2e
        e2e_d = touched.groupby("period")["met"].mean().reindex(periods)
        add(d, "e2e_resolution", (e2e_d + sign * 0.03 * g).clip(0, 1), touched.groupby("period").size())
        add(d, "churn_rate", (churn * np.exp(-sign * 0.08 * g)).clip(0, 1), active)
        add(d, "nps", (100 * (0.62 * csat - 0.28) + sign * 3 * g).clip(-100, 100), 1.0)
        add(
            d,
            "complaint_rate",
            (1000 * ((~mine["resolved"]).groupby(mine["period"]).sum() * 0.012 / active).clip(lower=0))
            * np.exp(-sign * 0.1 * g),
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
    _ = journey_stats
    dept_rows = pd.concat(rows, ignore_index=True)
    out = pd.concat([team_rows, dept_rows], ignore_index=True)
    out["period"] = pd.to_datetime(out["period"])
    return out.sort_values(["period", "department", "team", "metric"], na_position="first").reset_index(
        drop=True
    )
