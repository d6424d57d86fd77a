"""Credited sales, the table customer clawbacks work on.

A ``sales`` table has one row per credited sale: ``sale_id, employee_id, customer_id, sold_at`` (timestamp) and
optional ``units`` (default 1). Where an organisation has no sales ledger, :func:`sales_from_contacts` derives one
from the contact log: every answered ``new_order`` contact handled by an agent is a sale credited to that agent
(the order-capture contact is the sale event in the data contract's ``contacts`` table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cx_framework.errors import DataValidationError

__all__ = ["sales_from_contacts", "credited_sales", "read_sales", "SALE_REASONS", "SALES_FILES"]

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


#: File names of the optional credited-sales ledger beside the contract tables (first found wins).
SALES_FILES: tuple[str, ...] = ("sales.parquet", "sales.pq", "sales.csv", "sales.csv.gz")


def read_sales(directory: str | os.PathLike[str] | None) -> pd.DataFrame | None:
    """The credited-sales ledger of a data directory (``sales.parquet`` / ``.pq`` / ``.csv`` / ``.csv.gz``), or
    None when there is none. Ids are read as text; the columns are checked where the sales are linked
    (:func:`~cx_framework.incentives.prepare_payouts`), which names a missing column.

    Raises
    ------
    DataValidationError
        The file cannot be read (names the file).
    """
    if directory is None:
        return None
    root = Path(directory)
    for name in SALES_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            if name.endswith((".parquet", ".pq")):
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path, dtype={"sale_id": str, "employee_id": str, "customer_id": str})
        except (OSError, ValueError) as exc:
            raise DataValidationError(
                f"{path}: the credited-sales ledger cannot be read ({exc}); fix or remove the file.",
                file=str(path),
                table="sales",
            ) from None
        for column in ("sale_id", "employee_id", "customer_id"):
            if column in frame.columns:
                frame[column] = frame[column].astype(str)
        return frame
    return None


def credited_sales(
    tables: Mapping[str, pd.DataFrame], *, directory: str | os.PathLike[str] | None = None
) -> pd.DataFrame | None:
    """The credited sales customer clawbacks work on: the ``sales`` table when given (in ``tables``, else a
    sales ledger file in ``directory``), else sales derived from ``contacts``; None when neither (or no
    ``customers`` table to tie them to) is available. Every surface (the Analysis, the app's modeller, cx
    statements) gets its sales here, so a clawback is charged on the same sales everywhere."""
    if "customers" not in tables:
        return None
    if "sales" in tables:
        return tables["sales"]
    ledger = read_sales(directory)
    if ledger is not None:
        return ledger
    if "contacts" in tables:
        return sales_from_contacts(tables["contacts"])
    return None
