"""Incentives: payout engine, scheme comparison and what-if edits for HR (DESIGN.md "Payout curve").

Modules: :mod:`.payouts` (compute_payouts and its prepared fast path), :mod:`.compare` (compare_schemes),
:mod:`.whatif` (immutable scheme edits and table/YAML round trips for the app), :mod:`.export` (Excel export),
:mod:`.plan` (rate tables, quota proration, team crediting), :mod:`.ledger` (cap carry-forward, clawbacks, draws).
"""

from __future__ import annotations

from cx_framework.incentives.compare import *  # noqa: F403
from cx_framework.incentives.compare import __all__ as _compare_all
from cx_framework.incentives.export import *  # noqa: F403
from cx_framework.incentives.export import __all__ as _export_all
from cx_framework.incentives.ledger import *  # noqa: F403
from cx_framework.incentives.ledger import __all__ as _ledger_all
from cx_framework.incentives.payouts import *  # noqa: F403
from cx_framework.incentives.payouts import __all__ as _payouts_all
from cx_framework.incentives.plan import *  # noqa: F403
from cx_framework.incentives.plan import __all__ as _plan_all
from cx_framework.incentives.sales import *  # noqa: F403
from cx_framework.incentives.sales import __all__ as _sales_all
from cx_framework.incentives.whatif import *  # noqa: F403
from cx_framework.incentives.whatif import __all__ as _whatif_all

__all__ = [*_payouts_all, *_compare_all, *_whatif_all, *_export_all, *_plan_all, *_ledger_all, *_sales_all]
