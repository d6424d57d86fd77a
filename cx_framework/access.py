"""Who may read what (DESIGN.md "Access"): ``access.yaml``, authentication, and checks where data is read.

Roles
-----
* ``leadership`` — aggregates only: no individual salary, payout or statement.
* ``hr`` — individual pay of everyone.
* ``manager`` — individual pay of the teams listed in ``teams``.
* ``analyst`` — no individual pay; customer ids are pseudonymised (keyed BLAKE2b, :func:`cx_framework.io.pseudonymise_ids`).

``access.yaml`` (beside the other configs, or the file named by ``CX_ACCESS_FILE``)::

    authentication: password          # or: oidc (Streamlit st.login with an identity provider in secrets.toml)
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
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cx_framework.config._yaml import line_of, read_yaml
from cx_framework.config.loader import parse_model
from cx_framework.config.models import Organisation, _LocatedError
from cx_framework.errors import ConfigError, CxError

__all__ = [
    "ROLES",
    "PERSONAL_SECTIONS",
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
]

ROLES: tuple[str, ...] = ("leadership", "hr", "manager", "analyst")
#: Sections / exports that expose an individual's pay.
PERSONAL_SECTIONS: frozenset[str] = frozenset(
    {"payouts", "statements", "payout_export", "employees", "snapshots"}
)
#: Tables with customer ids pseudonymised for analysts, and the id columns in them.
CUSTOMER_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("customer_id",),
    "customers": ("customer_id",),
    "work_items": ("customer_id",),
    "sales": ("customer_id",),
}
PAY_COLUMNS: tuple[str, ...] = ("base_salary",)

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
    :func:`restrict_payouts`.

    Raises
    ------
    AccessError
        The viewer's role may not read individual pay (logged).
    """
    if viewer is None or section not in PERSONAL_SECTIONS or can_see_individual_pay(viewer):
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
        return Viewer(user=u.user, role=u.role, teams=tuple(u.teams), name=u.name)

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
