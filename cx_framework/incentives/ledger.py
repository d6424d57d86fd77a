"""Balances carried from period to period: cap-withheld amounts, clawbacks and draws.

A period's *earned* payout (curve or tiers, gates, cap) is settled in this order for each employee:

1. **Cap carry-forward** (``cap_carry_forward: true``): what the cap withheld is banked; a later period with room
   under its cap releases the bank up to that room (``cap_released``). Without carry-forward the excess is
   forfeited.
2. **Clawbacks** charged this period (and any clawback not yet recovered) are deducted; what the period cannot
   cover stays as ``clawback_balance`` for later periods — pay is never negative.
3. **Draw**: while the employee is in the first ``draw.periods`` periods of employment (or always), pay is topped up to the draw.
   A recoverable draw's top-ups accumulate in ``draw_balance``; recovery takes ``share_of_excess`` of the pay
   above the draw (of all pay once the draw has ended), from the ``start_period``-th period on, and never takes
   pay below the draw while the draw is paid — the rule of Oracle Incentive Compensation's published examples.

The recursion runs over periods (tens) with whole employee vectors at each step, never over employees.
Withheld employee-periods (missing data) pay NaN and leave the cap and draw balances untouched; a clawback charged
to a withheld period (its ``clawback`` column shows it) is carried in ``clawback_balance`` to the next paid period,
never forgiven.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cx_framework.config.models import Draw

__all__ = ["LEDGER_COLUMNS", "settle"]

LEDGER_COLUMNS: tuple[str, ...] = (
    "earned",
    "cap_withheld",
    "cap_released",
    "cap_balance",
    "clawback",
    "clawback_recovered",
    "clawback_balance",
    "draw_amount",
    "draw_top_up",
    "draw_recovered",
    "draw_balance",
)


@dataclass(frozen=True)
class _Grid:
    period_code: np.ndarray
    employee_code: np.ndarray
    n_periods: int
    n_employees: int

    def dense(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        out = np.full((self.n_periods, self.n_employees), fill)
        out[self.period_code, self.employee_code] = values
        return out

    def sparse(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(matrix[self.period_code, self.employee_code])


def settle(
    frame: pd.DataFrame,
    *,
    clawback: np.ndarray,
    carry_forward: bool,
    draw: Draw | None,
    tenure_period: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Settle earned payouts into amounts paid (module doc); returns the :data:`LEDGER_COLUMNS` and ``payout``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Per-period payout rows with ``period, employee_id, target_bonus, payout_before_cap, cap, payout``
        (earned, after gates and cap) and ``withheld``.
    clawback : numpy.ndarray
        Clawback charged in each row's period (currency, ≥ 0).
    carry_forward : bool
        Bank cap-withheld amounts.
    draw : Draw or None
        The draw rule.
    tenure_period : numpy.ndarray, optional
        Each row's period of employment (1 = the period the employee was hired in); ``draw.periods`` and
        ``recovery.start_period`` count these. Without it they count the employee's periods in ``frame``.
    """
    pcode, _ = pd.factorize(frame["period"], sort=True)
    ecode, _ = pd.factorize(frame["employee_id"])
    grid = _Grid(
        pcode, ecode, int(pcode.max()) + 1 if len(pcode) else 0, int(ecode.max()) + 1 if len(ecode) else 0
    )
    withheld = frame["withheld"].to_numpy(dtype=bool)
    active = grid.dense((~withheld).astype(np.float64)) > 0
    earned = grid.dense(np.nan_to_num(frame["payout"].to_numpy(dtype=np.float64)))
    before_cap = grid.dense(np.nan_to_num(frame["payout_before_cap"].to_numpy(dtype=np.float64)))
    cap = grid.dense(frame["cap"].to_numpy(dtype=np.float64))
    charged = grid.dense(np.nan_to_num(clawback))
    if draw is not None:
        target = frame["target_bonus"].to_numpy(dtype=np.float64)
        amount = (
            np.full(len(frame), draw.amount)
            if draw.amount is not None
            else target * (draw.amount_pct or 0) / 100
        )
        draw_amount = grid.dense(amount)
    else:
        draw_amount = np.zeros_like(earned)

    tenure = None if tenure_period is None else grid.dense(np.asarray(tenure_period, dtype=np.float64))
    shape = earned.shape
    out = {name: np.zeros(shape) for name in LEDGER_COLUMNS}
    paid = np.zeros(shape)
    bank = np.zeros(shape[1])
    claw_owed = np.zeros(shape[1])
    draw_owed = np.zeros(shape[1])
    seen = np.zeros(shape[1], dtype=np.int64)  # periods each employee has been in the plan so far
    recover_share = draw.recovery.share_of_excess if draw is not None and draw.recovery is not None else 0.0
    recover_from = draw.recovery.start_period if draw is not None and draw.recovery is not None else 1
    for t in range(shape[0]):
        on = active[t]
        seen = seen + on
        count = seen if tenure is None else tenure[t]
        # 1. cap bank
        withheld_now = np.where(on & carry_forward, np.maximum(before_cap[t] - earned[t], 0.0), 0.0)
        room = np.maximum(cap[t] - earned[t], 0.0)
        released = np.where(on, np.minimum(bank, room), 0.0) if carry_forward else np.zeros_like(bank)
        bank = bank + withheld_now - released
        gross = earned[t] + released
        # 2. clawbacks: this period's charges plus what earlier periods could not cover
        # a charge falling in a withheld period is carried to the next paid one, never forgiven
        due = claw_owed + charged[t]
        claw_recovered = np.where(on, np.minimum(gross, due), 0.0)
        claw_owed = due - claw_recovered
        net = gross - claw_recovered
        # 3. draw: recover first (never below the draw while it is paid), then top up to the draw
        if draw is None:
            in_draw = np.zeros_like(on)
        else:
            in_draw = on & (count <= draw.periods) if draw.periods is not None else on
        floor = np.where(in_draw, draw_amount[t], 0.0)
        can_recover = on & (draw_owed > 0) & (count >= recover_from)
        recovered = np.where(
            can_recover, np.minimum(draw_owed, np.maximum(net - floor, 0.0) * recover_share), 0.0
        )
        net = net - recovered
        draw_owed = draw_owed - recovered
        top_up = np.where(in_draw, np.maximum(floor - net, 0.0), 0.0)
        if draw is not None and draw.kind == "recoverable":
            draw_owed = draw_owed + top_up
        paid[t] = net + top_up
        for name, value in (
            ("earned", earned[t]),
            ("cap_withheld", np.maximum(before_cap[t] - earned[t], 0.0) * on),
            ("cap_released", released),
            ("cap_balance", bank),
            ("clawback", charged[t]),
            ("clawback_recovered", claw_recovered),
            ("clawback_balance", claw_owed),
            ("draw_amount", floor),
            ("draw_top_up", top_up),
            ("draw_recovered", recovered),
            ("draw_balance", draw_owed),
        ):
            out[name][t] = value
    result = {name: grid.sparse(m) for name, m in out.items()}
    result["payout"] = np.where(withheld, np.nan, grid.sparse(paid))
    for name in LEDGER_COLUMNS:
        if name not in ("cap_balance", "clawback", "clawback_balance", "draw_balance"):
            result[name] = np.where(withheld, np.nan, result[name])
    return result
