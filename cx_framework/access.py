"""Who may read what (DESIGN.md "Access"): ``access.yaml``, authentication, and checks where data is read.

Roles
-----
* ``leadership`` — aggregates only: no individual salary, payout or statement.
* ``hr`` — individual pay of everyone.
* ``manager`` — individual pay of the teams listed in ``teams``.
* ``analyst`` — no individual pay; customer ids are pseudonymised (keyed BLAKE2b, :func:`cx_framework.io.pseudonymise_ids`).

``access.yaml`` (beside the other configs, or the file named by ``CX_ACCESS_FILE``)::

    authentication: password          # or: oidc (Streamlit st.login with an identity provider in secrets.toml)
    min_group_size: 5                 # fewest employees in a pay aggregate shown outside HR (3 at least)
    four_eyes: true                   # the proposer / last editor of a scheme cannot approve it (default)
    users:
      - {user: alex, name: Alex Hart, role: hr, password_hash: "$argon2id$v=19$..."}
      - {user: lee, role: leadership, password_hash: "$argon2id$..."}
      - {user: mo, role: manager, teams: [cc_north], password_hash: "$argon2id$..."}

Passwords are never stored: ``password_hash`` is an Argon2id hash made by :func:`hash_password` (``cx
hash-password``), checked with argon2-cffi (RFC 9106) — no home-made crypto. With ``authentication: oidc`` users
are matched on the e-mail the identity provider returns (``user: alex@example.com``) and need no hash.

Enforcement happens where data is read: :func:`authorize` before a personal section (the Analysis ``payouts``
section, statements, exports), :func:`restrict_payouts` / :func:`restrict_tables` on the frames themselves. A
denied access raises :class:`AccessError` (a clear message) and is logged to the ``cx_framework.access`` logger
and, when the policy has a ``denied_log`` file, appended there as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cx_framework.config._yaml import line_of, read_yaml
from cx_framework.config.loader import parse_model
from cx_framework.config.models import Organisation, _LocatedError
from cx_framework.errors import ConfigError, CxError

__all__ = [
    "ROLES",
    "PERSONAL_SECTIONS",
    "HR_ACTIONS",
    "AccessError",
    "AccessUser",
    "AccessConfig",
    "AccessPolicy",
    "Viewer",
    "load_access",
    "find_access_file",
    "hash_password",
    "authorize",
    "restrict_payouts",
    "restrict_tables",
    "can_see_individual_pay",
    "DEFAULT_MIN_GROUP_SIZE",
    "merge_small_groups",
    "restrict_groups",
    "suppression_note",
    "withheld_reason",
    "sees_every_group",
]

ROLES: tuple[str, ...] = ("leadership", "hr", "manager", "analyst")
#: Sections / exports that expose an individual's pay.
PERSONAL_SECTIONS: frozenset[str] = frozenset(
    {"payouts", "statements", "payout_export", "employees", "snapshots"}
)
#: Compensation administration only HR may do (``authorize(viewer, action)``), with what the refusal says.
HR_ACTIONS: dict[str, str] = {
    "approve": "approve a scheme",
    "snapshot": "lock a payout snapshot",
}
#: Tables with customer ids pseudonymised for analysts, and the id columns in them.
CUSTOMER_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("customer_id",),
    "customers": ("customer_id",),
    "work_items": ("customer_id",),
    "sales": ("customer_id",),
}
PAY_COLUMNS: tuple[str, ...] = ("base_salary",)
#: Fewest employees an aggregate of pay may describe for viewers outside HR (``min_group_size`` in access.yaml);
#: see :func:`merge_small_groups` for where the 5 comes from.
DEFAULT_MIN_GROUP_SIZE = 5

log = logging.getLogger("cx_framework.access")


class AccessError(CxError):
    """The viewer may not read this. ``viewer`` and ``what`` say who asked for what."""

    def __init__(self, message: str, *, viewer: Viewer | None = None, what: str = "") -> None:
        self.viewer = viewer
        self.what = what
        super().__init__(message)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AccessUser(_Model):
    user: str = Field(min_length=1)
    name: str = ""
    role: str
    teams: list[str] = Field(default_factory=list)
    password_hash: str | None = None

    @field_validator("role")
    @classmethod
    def _known_role(cls, v: str) -> str:
        if v not in ROLES:
            raise ValueError(f"unknown role '{v}'; use one of: {', '.join(ROLES)}")
        return v

    @model_validator(mode="after")
    def _teams(self) -> AccessUser:
        if self.role == "manager" and not self.teams:
            raise _LocatedError("a manager needs `teams` (the team ids whose pay they may see)", ("teams",))
        if self.role != "manager" and self.teams:
            raise _LocatedError(f"only managers have `teams`; remove it for role '{self.role}'", ("teams",))
        if self.password_hash is not None and not self.password_hash.startswith("$argon2"):
            raise _LocatedError(
                "password_hash must be an Argon2 hash (starts with '$argon2'); make one with `cx hash-password`",
                ("password_hash",),
            )
        return self


class AccessConfig(_Model):
    authentication: Literal["password", "oidc"] = "password"
    users: list[AccessUser] = Field(min_length=1)
    denied_log: str | None = None
    #: fewest employees in any pay aggregate shown outside HR (groups below it are merged); 3 at least
    min_group_size: int = Field(default=DEFAULT_MIN_GROUP_SIZE, ge=3, le=1000)
    #: four-eyes approval: whoever proposed a scheme (or saved its current revision) cannot approve it; turn off
    #: only for an HR team of one
    four_eyes: bool = True

    @model_validator(mode="after")
    def _check(self) -> AccessConfig:
        seen: dict[str, int] = {}
        for i, u in enumerate(self.users):
            key = u.user.lower()
            if key in seen:
                raise _LocatedError(
                    f"duplicate user '{u.user}' (also users[{seen[key]}])", ("users", i, "user")
                )
            seen[key] = i
            if self.authentication == "password" and u.password_hash is None:
                raise _LocatedError(
                    "with `authentication: password` every user needs a password_hash (`cx hash-password`)",
                    ("users", i, "password_hash"),
                )
        return self


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: ``role`` one of :data:`ROLES`; ``teams`` for managers."""

    user: str
    role: str
    teams: tuple[str, ...] = ()
    name: str = ""
    #: fewest employees in a pay aggregate this viewer may see (access.yaml ``min_group_size``; HR sees all)
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE

    @property
    def label(self) -> str:
        who = self.name or self.user
        return f"{who} ({self.role}{': ' + ', '.join(self.teams) if self.teams else ''})"


def can_see_individual_pay(viewer: Viewer | None) -> bool:
    """True for hr, managers (their teams) and when access control is off (``viewer`` None)."""
    return viewer is None or viewer.role in ("hr", "manager")


def _deny(viewer: Viewer | None, what: str, message: str, denied_log: Path | None = None) -> AccessError:
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": viewer.user if viewer else None,
        "role": viewer.role if viewer else None,
        "what": what,
        "decision": "denied",
    }
    log.warning("access denied: %s", json.dumps(record))
    if denied_log is not None:
        with contextlib.suppress(OSError):  # a failed log write must not hide the denial
            denied_log.parent.mkdir(parents=True, exist_ok=True)
            with denied_log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
    return AccessError(message, viewer=viewer, what=what)


def authorize(viewer: Viewer | None, section: str, *, denied_log: Path | None = None) -> None:
    """Allow or refuse reading ``section`` (e.g. ``"payouts"``, ``"statements"``, ``"payout_export"``).

    ``viewer=None`` means access control is off (no access.yaml): allowed. Personal sections
    (:data:`PERSONAL_SECTIONS`) need hr or manager; a manager's rows are then cut to their teams by
    :func:`restrict_payouts`. The compensation actions of :data:`HR_ACTIONS` (``"approve"``, ``"snapshot"``)
    need hr.

    Raises
    ------
    AccessError
        The viewer's role may not read individual pay (logged).
    """
    if viewer is None:
        return
    if section in HR_ACTIONS:
        if viewer.role == "hr":
            return
        raise _deny(
            viewer,
            section,
            f"{viewer.label} may not {HR_ACTIONS[section]}: only HR approves schemes and locks payout runs "
            "(a manager may model and propose).",
            denied_log,
        )
    if section not in PERSONAL_SECTIONS or can_see_individual_pay(viewer):
        return
    raise _deny(
        viewer,
        section,
        f"{viewer.label} may not see individual pay ('{section}'); the {viewer.role} role sees aggregates only. "
        "Ask HR if you need an individual figure.",
        denied_log,
    )


def restrict_payouts(frame: pd.DataFrame, viewer: Viewer | None, *, what: str = "payouts") -> pd.DataFrame:
    """Rows of a per-employee frame (payouts, statements, employees) the viewer may read.

    hr (or access off): all rows; manager: rows whose ``team`` is one of theirs; others: AccessError.
    """
    authorize(viewer, what if what in PERSONAL_SECTIONS else "payouts")
    if viewer is None or viewer.role == "hr":
        return frame
    if "team" not in frame.columns:
        raise _deny(
            viewer, what, f"{viewer.label}: this table has no team column, so it cannot be cut to your teams"
        )
    out = frame[frame["team"].astype(str).isin(list(viewer.teams)).to_numpy()]
    out.attrs = dict(frame.attrs)
    return out


def restrict_tables(
    tables: Mapping[str, pd.DataFrame], viewer: Viewer | None, *, pseudonym_key: bytes | None = None
) -> dict[str, pd.DataFrame]:
    """The data tables as the viewer may read them.

    * hr / access off: unchanged.
    * manager: ``employees`` and ``employee_metrics`` cut to their teams (so every payout computed from them is
      their team's).
    * leadership and analyst: ``base_salary`` removed from ``employees`` — no individual pay can be computed.
    * analyst: customer ids pseudonymised in every table holding them (keyed hash; ``pseudonym_key`` or a random
      per-process key).
    """
    out = dict(tables)
    if viewer is None or viewer.role == "hr":
        return out
    if viewer.role == "manager":
        if "employees" in out:
            emp = out["employees"]
            emp = emp[emp["team"].astype(str).isin(list(viewer.teams)).to_numpy()].reset_index(drop=True)
            out["employees"] = emp
            if "employee_metrics" in out:
                em = out["employee_metrics"]
                out["employee_metrics"] = em[
                    em["employee_id"].isin(emp["employee_id"]).to_numpy()
                ].reset_index(drop=True)
        return out
    if "employees" in out:
        out["employees"] = out["employees"].drop(
            columns=[c for c in PAY_COLUMNS if c in out["employees"].columns]
        )
    if viewer.role == "analyst":
        from cx_framework.io import pseudonymise_ids

        key = pseudonym_key or _process_key()
        for table, columns in CUSTOMER_ID_COLUMNS.items():
            if table in out:
                frame = out[table].copy()
                for col in columns:
                    if col in frame.columns:
                        frame[col] = pseudonymise_ids(frame[col], key)
                out[table] = frame
    return out


# ------------------------------------------------------------------------------------------------ small groups
def suppression_note(min_size: int, merged: int, suppressed: int = 0) -> str:
    """The line a surface shows under a table whose small groups were merged (or suppressed)."""
    parts = []
    if merged:
        parts.append(
            f"suppressed: fewer than {min_size} employees in {merged} group(s), shown merged as 'other groups' "
            "(with the next smallest group where needed, so no group can be worked back from the totals)"
        )
    if suppressed:
        parts.append(f"suppressed: fewer than {min_size} employees in all in {suppressed} comparison(s)")
    if not parts:
        return ""
    text = "; ".join(parts) + ". HR sees every group."
    return text[0].upper() + text[1:]


def merge_small_groups(
    frame: pd.DataFrame,
    min_size: int = DEFAULT_MIN_GROUP_SIZE,
    *,
    size: str = "employees",
    keys: tuple[str, ...] = ("department", "role"),
    within: tuple[str, ...] = ("scheme",),
    weighted_means: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Fold every group of fewer than ``min_size`` employees into one "other groups" row, so no shown aggregate
    of pay describes fewer than ``min_size`` people.

    Why 5: it is the cell size compensation practitioners use for shared pay statistics — the DOJ/FTC
    *Statements of Antitrust Enforcement Policy in Health Care* (1996), Statement 6 "safety zone" for salary
    surveys (each disseminated statistic based on at least five sources, none weighing more than 25 %), which
    salary-survey publishers still apply after its 2023 withdrawal — and the default minimum reporting group of
    HR survey tools (Effectory: "five being the absolute minimum"; Supermood and Betterworks: 5). Those tools also
    hide the next smallest group when one is hidden ("inferential identification": a hidden cell worked back
    as the total minus the shown cells); merging does the same here — when the merged row alone is still below
    ``min_size`` the smallest shown group joins it — so every row, and the total minus any rows, covers at least
    ``min_size`` employees. A part (``within``, e.g. one scheme) with fewer than ``min_size`` employees in all
    becomes one row with no figures.

    Parameters
    ----------
    frame : DataFrame
        One row per group: ``within`` + ``keys`` columns, the head count ``size`` and numeric columns that add up
        (counts, totals in currency).
    min_size : int
        Fewest employees a row may describe (access.yaml ``min_group_size``).
    size, keys, within : str / tuple of str
        Head-count column, the group columns (set to ``"other groups"`` / ``"(n merged)"`` on a merged row), and
        the columns that split the frame into independent parts.
    weighted_means : mapping of str to str, optional
        Columns that are means, with the column (or ``"size - other"`` difference) of their weights: a merged
        row's mean is the weighted mean of its groups'.

    Returns
    -------
    DataFrame
        Same columns plus ``merged_groups`` (groups folded into the row: 1 for a group shown as it is, 0 for a
        suppressed part); ``attrs["suppression"]`` holds :func:`suppression_note` (empty when nothing changed).
    """
    weighted_means = dict(weighted_means or {})
    out = frame.copy()
    out["merged_groups"] = 1
    if out.empty:
        out.attrs = {**frame.attrs, "suppression": ""}
        return out
    sizes = out[size].to_numpy(dtype=float)
    parts = out.groupby(list(within), sort=False).indices if within else {(): range(len(out))}
    numeric = [c for c in out.columns if c not in (*within, *keys) and pd.api.types.is_numeric_dtype(out[c])]
    rows: list[pd.DataFrame] = []
    small_keys: set[tuple[Any, ...]] = set()  # distinct small groups (the same group in several parts once)
    suppressed = 0
    for index in parts.values():
        part = out.iloc[list(index)]
        small = sizes[list(index)] < min_size
        if not small.any():
            rows.append(part)
            continue
        order = part.assign(_small=small, _size=sizes[list(index)]).sort_values(
            ["_small", "_size"], ascending=[False, True], kind="stable"
        )
        fold = int(small.sum())
        # the smallest shown groups join until the merged row covers min_size employees
        while fold < len(order) and order["_size"].iloc[:fold].sum() < min_size:
            fold += 1
        folded, kept = order.iloc[:fold], order.iloc[fold:]
        row = {c: folded[c].iloc[0] for c in within}
        row.update({c: "other groups" for c in keys})
        if keys:
            row[keys[-1]] = f"({len(folded)} groups merged)"
        for c in numeric:
            row[c] = folded[c].sum()
        for c, weight in weighted_means.items():
            w = _weights(folded, weight)
            ok = w > 0
            row[c] = float((folded[c][ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan
        row["merged_groups"] = len(folded)
        if folded[size].sum() < min_size:  # the whole part is too small to show anything
            row.update({c: np.nan for c in numeric if c not in ("merged_groups", size)})
            row.update({c: np.nan for c in weighted_means})
            row["merged_groups"] = 0
            suppressed += 1
        else:
            small_keys.update(map(tuple, part.loc[small, list(keys)].to_numpy().tolist()))
        rows.append(kept.drop(columns=["_small", "_size"]))
        rows.append(pd.DataFrame([row]))
    result = pd.concat([r for r in rows if len(r)], ignore_index=True)[list(out.columns)]
    for c in numeric:  # counts stay integers (nullable where a part is suppressed)
        if pd.api.types.is_integer_dtype(out[c]):
            result[c] = result[c].astype("Int64")
    result.attrs = {**frame.attrs, "suppression": suppression_note(min_size, len(small_keys), suppressed)}
    return result


def _weights(frame: pd.DataFrame, weight: str) -> pd.Series:
    if " - " in weight:
        left, right = (w.strip() for w in weight.split(" - ", 1))
        return (frame[left] - frame[right]).astype(float)
    return frame[weight].astype(float)


def sees_every_group(viewer: Viewer | None, *, own_teams_only: bool = False) -> bool:
    """True when ``viewer`` may see pay aggregates of any size: HR, access control off (``viewer`` None), or a
    manager reading figures computed on their own teams only (``own_teams_only``, :func:`restrict_tables`)."""
    return viewer is None or viewer.role == "hr" or (own_teams_only and viewer.role == "manager")


def withheld_reason(min_size: int) -> str:
    """What a surface shows instead of a pay aggregate over fewer than ``min_size`` employees."""
    return (
        f"fewer than {min_size} employees: a pay figure this small would describe individuals "
        "(access.yaml min_group_size); HR sees it"
    )


def restrict_groups(
    frame: pd.DataFrame, viewer: Viewer | None, *, own_teams_only: bool = False, **merge: Any
) -> pd.DataFrame:
    """A per-group pay aggregate as ``viewer`` may see it: unchanged for HR (and with access control off,
    ``viewer`` None); for everyone else (leadership, analysts, managers — a group may hold other teams' staff)
    groups of fewer than ``viewer.min_group_size`` employees merged by :func:`merge_small_groups` (``merge``:
    its keyword arguments). ``own_teams_only=True`` says the frame was computed on a manager's own teams only
    (:func:`restrict_tables`): a manager may read those people's pay, so nothing is merged for them."""
    if sees_every_group(viewer, own_teams_only=own_teams_only):
        out = frame.copy()
        out["merged_groups"] = 1
        out.attrs = {**frame.attrs, "suppression": ""}
        return out
    assert viewer is not None  # sees_every_group is True for None
    return merge_small_groups(frame, viewer.min_group_size, **merge)


_PROCESS_KEY: list[bytes] = []


def _process_key() -> bytes:
    """``CX_PSEUDONYM_KEY`` (hex) when set, else one random key per process (pseudonyms stable within a run)."""
    env = os.environ.get("CX_PSEUDONYM_KEY")
    if env:
        return bytes.fromhex(env)
    if not _PROCESS_KEY:
        _PROCESS_KEY.append(secrets.token_bytes(32))
    return _PROCESS_KEY[0]


# ------------------------------------------------------------------------------------------------ passwords
def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (argon2-cffi defaults, RFC 9106 low-memory profile) for ``access.yaml``."""
    from argon2 import PasswordHasher

    if not password:
        raise CxError("an empty password cannot be hashed; choose a password")
    return str(PasswordHasher().hash(password))


def _verify(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(PasswordHasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


# ------------------------------------------------------------------------------------------------ policy
@dataclass(frozen=True)
class AccessPolicy:
    """A loaded ``access.yaml``: authenticate users and turn identities into :class:`Viewer` objects."""

    config: AccessConfig
    path: Path | None = None
    _by_user: dict[str, AccessUser] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_user.update({u.user.lower(): u for u in self.config.users})

    @property
    def authentication(self) -> str:
        return self.config.authentication

    @property
    def denied_log(self) -> Path | None:
        if self.config.denied_log is None:
            return None
        p = Path(self.config.denied_log)
        return p if p.is_absolute() or self.path is None else self.path.parent / p

    def _viewer(self, u: AccessUser) -> Viewer:
        return Viewer(
            user=u.user,
            role=u.role,
            teams=tuple(u.teams),
            name=u.name,
            min_group_size=self.config.min_group_size,
        )

    @property
    def min_group_size(self) -> int:
        """Fewest employees in a pay aggregate shown outside HR (access.yaml ``min_group_size``, default 5)."""
        return self.config.min_group_size

    @property
    def four_eyes(self) -> bool:
        """Four-eyes approval of schemes (access.yaml ``four_eyes``, default True): the approver must be another
        HR user than the one who proposed or last edited the scenario
        (:meth:`cx_framework.scenarios.ScenarioStore.set_status`)."""
        return self.config.four_eyes

    def anonymous(self) -> Viewer:
        """The viewer of someone who has not signed in (e.g. a CLI user without ``CX_USER``): no individual pay,
        pay aggregates of at least :attr:`min_group_size` employees."""
        return Viewer(user="(not signed in)", role="leadership", min_group_size=self.config.min_group_size)

    def authenticate(self, user: str, password: str) -> Viewer:
        """The viewer for a correct user name and password.

        Raises
        ------
        AccessError
            Unknown user or wrong password (one message for both, so user names cannot be probed; logged).
        """
        found = self._by_user.get((user or "").strip().lower())
        # verify against a real hash even for unknown users, so timing does not reveal which names exist
        ok = _verify(found.password_hash if found and found.password_hash else _dummy_hash(), password or "")
        if found is None or not ok or found.password_hash is None:
            raise _deny(
                None if found is None else self._viewer(found),
                "login",
                "wrong user name or password",
                self.denied_log,
            )
        return self._viewer(found)

    def viewer_for(self, identity: str | None) -> Viewer:
        """The viewer for an identity-provider login (matched on e-mail / user name, case-insensitive).

        Raises
        ------
        AccessError
            The identity is not listed in access.yaml (logged).
        """
        found = self._by_user.get((identity or "").strip().lower())
        if found is None:
            raise _deny(
                None,
                "login",
                f"'{identity}' signed in but is not listed in access.yaml; ask an administrator to add you",
                self.denied_log,
            )
        return self._viewer(found)

    def authorize(self, viewer: Viewer | None, section: str) -> None:
        """:func:`authorize` with this policy's denied-access log file."""
        authorize(viewer, section, denied_log=self.denied_log)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash of a random password, made once: verified for unknown users so timing does not reveal names."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(16)))
    return _DUMMY[0]


def find_access_file(config_dir: str | Path | None = None) -> Path | None:
    """``CX_ACCESS_FILE`` when set, else ``<config_dir>/access.yaml`` when it exists, else None (access off)."""
    env = os.environ.get("CX_ACCESS_FILE")
    if env:
        return Path(env)
    if config_dir is not None:
        candidate = Path(config_dir) / "access.yaml"
        if candidate.is_file():
            return candidate
    return None


def load_access(path: str | Path, *, organisation: Organisation | None = None) -> AccessPolicy:
    """Load and check ``access.yaml``; with ``organisation`` every manager's teams must exist.

    Raises
    ------
    ConfigError
        Unknown role or team, a manager without teams, a missing or malformed password hash, a duplicate user —
        naming the file, key path (``users[2].teams[0]``) and line.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("access file not found; create it or unset CX_ACCESS_FILE", file=str(path))
    data, node = read_yaml(path)
    config = parse_model(AccessConfig, data, file=str(path), node=node)
    if organisation is not None:
        teams = set(organisation.team_department)
        for i, u in enumerate(config.users):
            for j, team in enumerate(u.teams):
                if team not in teams:
                    raise ConfigError(
                        f"unknown team '{team}'; teams in organisation.yaml: {', '.join(sorted(teams))}",
                        file=str(path),
                        key=f"users[{i}].teams[{j}]",
                        line=line_of(node, ("users", i, "teams", j)),
                    )
    return AccessPolicy(config=config, path=path)
