"""Auto-suggested column mappings for a raw export, and the ``sources.yaml`` a mapping table stands for.

:func:`suggest_mapping` proposes, for each contract column of a table, the source column whose name is closest
(exact match after normalising case and punctuation, then known synonyms of ACD / HRIS exports, then difflib);
with a preset it starts from the preset's mapping. :func:`mapping_to_sources` turns the (edited) mapping table
back into a ``sources.yaml`` mapping, which :func:`cx_framework.sources.parse_sources` validates.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import yaml

from cx_framework.schemas import column_kinds

__all__ = ["suggest_mapping", "mapping_to_sources", "MAPPING_COLUMNS", "SYNONYMS"]

#: Columns of the mapping table the wizard edits.
MAPPING_COLUMNS = [
    "contract_column",
    "kind",
    "source_column",
    "constant",
    "unit",
    "format",
    "true_values",
    "spec",
]

#: Common source names of contract columns in ACD, CRM and HRIS exports (normalised: lower case, no punctuation).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "contact_id": ("callid", "contactid", "interactionid", "conversationid", "id", "sessionid"),
    "customer_id": (
        "callerid",
        "ani",
        "customernumber",
        "accountid",
        "accountnumber",
        "contactphonenumber",
        "clientid",
    ),
    "timestamp": (
        "queueentrytime",
        "arrivaltime",
        "starttime",
        "startat",
        "initiationtimestamp",
        "calltime",
        "datetime",
        "date",
    ),
    "channel": ("mediatype", "media", "channeltype"),
    "queue": ("queuename", "skill", "splitskill", "ringgroups", "ringgroup", "service"),
    "reason": ("wrapcode", "dispositioncode", "disposition", "wrapup", "category", "calltype"),
    "wait_s": ("waittime", "queuetime", "queueduration", "speedofanswer", "holdinqueue", "waitingtime"),
    "handle_s": ("handletime", "talktime", "handleduration", "duration", "aht"),
    "abandoned": ("outcome", "abandon", "isabandoned", "result", "type", "status"),
    "resolved_first_contact": (
        "fcr",
        "firstcontactresolution",
        "firstcontactresolved",
        "resolved",
        "resolvedfirsttime",
    ),
    "agent_id": ("agent", "agentname", "username", "userid", "agentlogin", "employeeid"),
    "employee_id": ("employeenumber", "employeeid", "workerid", "personnelnumber", "id"),
    "department": ("dept", "departmentname", "costcenter", "organisation", "organization"),
    "team": ("division", "teamname", "group", "supervisorygroup"),
    "role": ("jobtitle", "title", "position", "jobprofile"),
    "base_salary": ("payrate", "salary", "annualsalary", "basepay", "compensation"),
    "hire_date": ("hiredate", "startdate", "originalhiredate"),
    "leave_date": ("terminationdate", "enddate", "leavedate", "exitdate"),
    "interval_start": ("interval", "intervalstart", "startinterval", "period", "datetime"),
    "offered": ("callsoffered", "contactsqueued", "offered", "incoming"),
    "answered": ("callsanswered", "contactshandled", "handled"),
    "answered_within_threshold": ("answeredwithinsl", "withinsl", "answeredinsl"),
    "aht_s": ("aht", "averagehandletime", "avghandletime"),
    "agents_staffed": ("agentsstaffed", "staffed", "agents", "positionsstaffed"),
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _best(target: str, columns: Sequence[str], taken: set[str]) -> str | None:
    free = [c for c in columns if c not in taken]
    normalised = {_norm(c): c for c in free}
    if _norm(target) in normalised:
        return normalised[_norm(target)]
    for synonym in SYNONYMS.get(target, ()):
        if synonym in normalised:
            return normalised[synonym]
    close = difflib.get_close_matches(_norm(target), list(normalised), n=1, cutoff=0.75)
    return normalised[close[0]] if close else None


def suggest_mapping(columns: Sequence[str], table: str, *, preset: str | None = None) -> pd.DataFrame:
    """A suggested mapping table for a raw export with ``columns`` into contract table ``table``.

    Parameters
    ----------
    columns : sequence of str
        The export's column names.
    table : str
        Contract table (``contacts``, ``employees``, ...).
    preset : str, optional
        Start from this preset's mapping (its source columns that the export lacks are left blank).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MAPPING_COLUMNS`, one row per contract column; ``source_column`` is "" where nothing fits.
        Each source column is suggested for at most one contract column.
    """
    from cx_framework.sources.presets import preset as load_preset

    kinds = column_kinds(table)
    spec = load_preset(preset)["columns"] if preset else {}
    taken: set[str] = set()
    rows = []
    for target, kind in kinds.items():
        if target in ("threshold_s", "volume"):
            continue
        row: dict[str, Any] = {c: "" for c in MAPPING_COLUMNS}
        row.update(contract_column=target, kind=kind)
        given = spec.get(target)
        if isinstance(given, str):
            given = {"column": given}
        if isinstance(given, dict) and given.get("constant") is not None:
            row["constant"] = (
                str(given["constant"]).lower()
                if isinstance(given["constant"], bool)
                else str(given["constant"])
            )
        elif (
            isinstance(given, dict)
            and set(given) <= {"column", "unit", "format"}
            and given.get("column") in columns
        ):
            row["source_column"] = given["column"]
            row["unit"] = given.get("unit") or ""
            row["format"] = given.get("format") or ""
        elif isinstance(given, dict) and given.get("column") is not None and given["column"] not in columns:
            row["source_column"] = _best(target, columns, taken) or ""
        elif isinstance(given, dict):
            # value maps, fills, sums, durations: the preset's spec kept whole (as YAML) when the export has
            # every column it reads
            from cx_framework.sources.config import ColumnSpec

            needed = ColumnSpec.model_validate(given).source_columns
            flag = None if needed else _best(target, columns, taken)
            if flag is not None:
                row["source_column"] = flag  # the export's own column beats a derived proxy
            elif all(c in columns for c in needed):
                row["spec"] = yaml.safe_dump(given, default_flow_style=True, sort_keys=False).strip()
        else:
            best = _best(target, columns, taken)
            row["source_column"] = best or ""
        if row["source_column"]:
            taken.add(row["source_column"])
        rows.append(row)
    return pd.DataFrame(rows, columns=MAPPING_COLUMNS)


def mapping_to_sources(
    table: str,
    file: str,
    mapping: pd.DataFrame,
    *,
    timezone: str = "UTC",
    derive_intervals: bool = False,
    interval_minutes: int = 30,
    threshold_s: float = 20.0,
) -> dict[str, Any]:
    """The ``sources.yaml`` mapping (a plain dict, ready for ``yaml.safe_dump``) of an edited mapping table.

    A row with a ``spec`` (a YAML column spec such as ``{duration: {start: a, end: b}}``) maps to it as given;
    a row with a ``constant`` maps to ``{constant: ...}``; a row with a ``source_column`` to ``{column: ...}``
    plus ``unit`` / ``format``; for yes/no columns, ``true_values`` (comma-separated source values meaning yes)
    becomes a value map with every other value meaning no. Rows with neither are left out (the validation then
    names them).
    """
    columns: dict[str, Any] = {}
    for row in mapping.fillna("").astype(str).itertuples(index=False):
        target, kind = row.contract_column, row.kind
        if row.spec.strip():
            columns[target] = yaml.safe_load(row.spec)
            continue
        constant, source = row.constant.strip(), row.source_column.strip()
        if constant:
            value: Any = constant
            if kind == "bool":
                value = constant.lower() in ("true", "yes", "y", "1", "t")
            elif kind in ("int", "float"):
                try:
                    value = float(constant)
                except ValueError:
                    value = constant  # the validation says it is not a number
            columns[target] = {"constant": value}
            continue
        if not source:
            continue
        spec: dict[str, Any] = {"column": source}
        if row.unit.strip():
            spec["unit"] = row.unit.strip()
        if row.format.strip():
            spec["format"] = row.format.strip()
        if kind == "bool" and row.true_values.strip():
            spec["values"] = {v.strip(): True for v in row.true_values.split(",") if v.strip()}
            spec["default"] = False
        columns[target] = spec if len(spec) > 1 else source
    tables: dict[str, Any] = {table: {"file": file, "columns": columns}}
    if derive_intervals and table == "contacts":
        tables["intervals"] = {
            "derive": "contacts",
            "interval_minutes": interval_minutes,
            "threshold_s": threshold_s,
        }
    return {"timezone": timezone, "tables": tables}
