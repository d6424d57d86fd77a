"""Credited sales, the table customer clawbacks work on.

A ``sales`` table has one row per credited sale: ``sale_id, employee_id, customer_id, sold_at`` (timestamp) and
optional ``units`` (default 1). Where an organisation has no sales ledger, :func:`sales_from_contacts` derives one
from the contact log: every answered ``new_order`` contact handled by an agent is a sale credited to that agent
(the order-capture contact is the sale event in the data contract's ``contacts`` table).
"""

from __future__ import annotations

import pandas as pd

from cx_framework.errors import DataValidationError

__all__ = ["sales_from_contacts", "credited_sales", "SALE_REASONS"]

#: Contact reasons that record a sale.
SALE_REASONS: tuple[str, ...] = ("new_order",)


def sales_from_contacts(contacts: pd.DataFrame, *, reasons: tuple[str, ...] = SALE_REASONS) -> pd.DataFrame:
    """Credited sales derived from contacts: answered contacts with a sale reason and a handling agent.

    Parameters
    ----------
    contacts : pandas.DataFrame
        DESIGN.md ``contacts`` (``contact_id, customer_id, timestamp, reason, abandoned, agent_id``).
    reasons : tuple of str
        Contact reasons that are sales (default ``("new_order",)``).

    Returns
    -------
    pandas.DataFrame
        ``sale_id`` (the contact id), ``employee_id``, ``customer_id``, ``sold_at``, ``units`` (1).

    Raises
    ------
    DataValidationError
        A needed column is missing (named).
    """
    needed = ("contact_id", "customer_id", "timestamp", "reason", "abandoned", "agent_id")
    missing = [c for c in needed if c not in contacts.columns]
    if missing:
        raise DataValidationError(
            f"Table 'contacts': missing column(s) {', '.join(missing)}; needed to derive credited sales.",
            table="contacts",
        )
    keep = (
        contacts["reason"].isin(list(reasons)).to_numpy()
        & ~contacts["abandoned"].to_numpy(dtype=bool)
        & contacts["agent_id"].notna().to_numpy()
    )
    picked = contacts.loc[keep]
    return pd.DataFrame(
        {
            "sale_id": picked["contact_id"].astype(str).to_numpy(),
            "employee_id": picked["agent_id"].astype(str).to_numpy(),
            "customer_id": picked["customer_id"].astype(str).to_numpy(),
            "sold_at": pd.to_datetime(picked["timestamp"]).to_numpy(),
            "units": 1.0,
        }
    )


def credited_sales(tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The ``sales`` table when present, else sales derived from ``contacts``; None when neither (or no
    ``customers`` table to tie them to) is available."""
    if "customers" not in tables:
        return None
    if "sales" in tables:
        return tables["sales"]
    if "contacts" in tables:
        return sales_from_contacts(tables["contacts"])
    return None
