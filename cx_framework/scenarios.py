"""Compensation administration: scenarios, approvals, payout snapshots and an audit log in one SQLite file.

The database (default ``<config dir>/compensation.sqlite``, beside the configs) holds:

* **scenarios** — named, edited schemes. Every save is a new *revision* (the YAML is kept whole), so any earlier
  version can be reopened and two scenarios (or revisions) compared key by key.
* **status** — each scenario moves ``draft → proposed → approved`` (a proposed scenario can go back to draft; an
  approved one is locked: save it under a new name to change it). With **four-eyes approval**
  (``set_status(..., four_eyes=True)``; on whenever access control is on, unless access.yaml says
  ``four_eyes: false``) the user who proposed the scenario, or saved its current revision, cannot approve it:
  :class:`FourEyesError`, and the refusal is recorded in the audit log.
* **snapshots** — payout runs locked as immutable records: the payout frame (Parquet bytes), the scheme revision
  and data stamp it came from, and the SHA-256 of its content. A rerun makes a new snapshot; SQLite triggers refuse
  any UPDATE or DELETE, and reading a snapshot re-hashes it: a changed payload raises
  :class:`SnapshotIntegrityError`.
* **audit** — who did what, when, and the diff (JSON list of ``{"key", "old", "new"}``), for every save, status
  change and snapshot. Rows are hash-chained (each row's hash covers the previous row's), so editing or deleting a
  past row breaks the chain, which :meth:`ScenarioStore.verify` reports.

Stdlib ``sqlite3`` only; one file, no server. Every write is one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cx_framework.config.loader import parse_model
from cx_framework.config.models import Scheme
from cx_framework.errors import ConfigError

__all__ = [
    "ScenarioStore",
    "ScenarioError",
    "SnapshotIntegrityError",
    "FourEyesError",
    "Snapshot",
    "STATUSES",
    "DEFAULT_DB_NAME",
    "scheme_diff",
]

DEFAULT_DB_NAME = "compensation.sqlite"
STATUSES: tuple[str, ...] = ("draft", "proposed", "approved")
_TRANSITIONS = {("draft", "proposed"), ("proposed", "draft"), ("proposed", "approved")}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY, scheme_id TEXT NOT NULL, status TEXT NOT NULL, revision INTEGER NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_by TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    name TEXT NOT NULL, revision INTEGER NOT NULL, scheme_yaml TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (name, revision));
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT, scenario TEXT NOT NULL, revision INTEGER NOT NULL, label TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, data_stamp TEXT NOT NULL, rows INTEGER NOT NULL,
    total_payout REAL NOT NULL, content_hash TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS snapshots_no_update BEFORE UPDATE ON snapshots
    BEGIN SELECT RAISE(ABORT, 'payout snapshots are immutable; run again to make a new snapshot'); END;
CREATE TRIGGER IF NOT EXISTS snapshots_no_delete BEFORE DELETE ON snapshots
    BEGIN SELECT RAISE(ABORT, 'payout snapshots are immutable'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS revisions_no_update BEFORE UPDATE ON revisions
    BEGIN SELECT RAISE(ABORT, 'revisions are immutable; save a new revision'); END;
"""


class ScenarioError(ConfigError):
    """A scenario operation is not allowed (duplicate name, unknown scenario, wrong status change, ...)."""


class SnapshotIntegrityError(ScenarioError):
    """A payout snapshot (or the audit chain) no longer matches its recorded hash: it was changed outside the
    store. The snapshot is refused."""


class FourEyesError(ScenarioError):
    """Four-eyes approval: the user who proposed a scenario (or saved its current revision) may not approve it;
    another HR user must. The refusal is recorded in the audit log (action ``refused``)."""


@dataclass(frozen=True)
class Snapshot:
    """A locked payout run: ``payouts`` is the frame exactly as saved (verified against ``content_hash``)."""

    id: int
    scenario: str
    revision: int
    label: str
    created_by: str
    created_at: str
    data_stamp: str
    content_hash: str
    payouts: pd.DataFrame


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _scheme_yaml(scheme: Scheme) -> str:
    from cx_framework.incentives.whatif import scheme_to_yaml

    return scheme_to_yaml(scheme)


def scheme_diff(
    old: Scheme | Mapping[str, Any] | None, new: Scheme | Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Key-by-key differences between two schemes: ``[{"key": "components[1].weight", "old": 0.35, "new": 0.4}]``.

    Lists are compared position by position (a removed component shows as ``old`` value, ``new`` None).
    """

    def plain(s: Scheme | Mapping[str, Any] | None) -> Any:
        if s is None:
            return {}
        return (
            s.model_dump(by_alias=True, mode="json")
            if isinstance(s, Scheme)
            else json.loads(json.dumps(s, default=str))
        )

    out: list[dict[str, Any]] = []

    def walk(a: Any, b: Any, key: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(dict.fromkeys([*a, *b])):
                walk(a.get(k), b.get(k), f"{key}.{k}" if key else str(k))
        elif isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b))):
                walk(a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{key}[{i}]")
        elif a != b:
            out.append({"key": key, "old": a, "new": b})

    walk(plain(old), plain(new), "")
    return out


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    clean = frame.copy()
    clean.attrs = {}
    clean.to_parquet(buf, index=False)
    return buf.getvalue()


class ScenarioStore:
    """Scenarios, approvals, snapshots and audit in one SQLite file (module doc).

    Parameters
    ----------
    path : str or Path
        The database file (created with its tables when missing). Use :meth:`beside` for the default place.

    Examples
    --------
    >>> store = ScenarioStore.beside("configs")  # doctest: +SKIP
    >>> store.save("retention plan 2026", scheme, user="hr.alex")  # doctest: +SKIP
    >>> store.set_status("retention plan 2026", "proposed", user="hr.alex")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # snapshots hold individual pay: the file is its owner's only from the start (SQLite gives its
            # journal the database file's permissions)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @classmethod
    def beside(cls, config_dir: str | Path) -> ScenarioStore:
        """The store ``<config_dir>/compensation.sqlite``."""
        return cls(Path(config_dir) / DEFAULT_DB_NAME)

    # ---------------------------------------------------------------------------------------- plumbing
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10.0)
        con.row_factory = sqlite3.Row
        try:
            with con:  # one transaction: commit on success, roll back on error
                yield con
        except sqlite3.DatabaseError as exc:
            raise ScenarioError(
                f"the compensation database refused the change: {exc}", file=str(self.path)
            ) from None
        finally:
            con.close()

    def _error(self, message: str, key: str) -> ScenarioError:
        return ScenarioError(message, file=str(self.path), key=key)

    def _log(self, con: sqlite3.Connection, user: str, action: str, target: str, detail: Any) -> None:
        row = con.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row["hash"] if row else ""
        at = _now()
        text = json.dumps(detail, sort_keys=True, default=str)
        digest = hashlib.sha256("\x1f".join((prev, at, user, action, target, text)).encode()).hexdigest()
        con.execute(
            "INSERT INTO audit (at, user, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, user, action, target, text, prev, digest),
        )

    @staticmethod
    def _user(user: str) -> str:
        user = (user or "").strip()
        if not user:
            raise ScenarioError(
                "every change records who made it; pass user= (the signed-in user)", key="user"
            )
        return user

    def _row(self, con: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = con.execute("SELECT * FROM scenarios WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = [r["name"] for r in con.execute("SELECT name FROM scenarios ORDER BY name")]
            raise self._error(
                f"no scenario named '{name}'; saved scenarios: {', '.join(known) or 'none yet'}",
                f"scenarios.{name}",
            )
        return row

    # ---------------------------------------------------------------------------------------- scenarios
    def save(self, name: str, scheme: Scheme, *, user: str, note: str = "", overwrite: bool = False) -> int:
        """Save ``scheme`` as scenario ``name`` (a new scenario in draft, or — with ``overwrite=True`` — a new
        revision of a draft one). Returns the revision number.

        Raises
        ------
        ScenarioError
            The name exists (and ``overwrite`` is False), or the scenario is proposed/approved (locked).
        """
        user = self._user(user)
        name = name.strip()
        if not name:
            raise self._error("a scenario needs a name", "scenarios")
        text = _scheme_yaml(scheme)
        with self._connect() as con:
            row = con.execute("SELECT * FROM scenarios WHERE name = ?", (name,)).fetchone()
            now = _now()
            if row is None:
                revision, previous = 1, None
                con.execute(
                    "INSERT INTO scenarios VALUES (?, ?, 'draft', 1, ?, ?, ?, ?)",
                    (name, scheme.id, user, now, user, now),
                )
            else:
                if not overwrite:
                    raise self._error(
                        f"a scenario named '{name}' already exists (revision {row['revision']}, {row['status']}); "
                        "choose another name, or save it as a new revision of that scenario",
                        f"scenarios.{name}",
                    )
                if row["status"] != "draft":
                    raise self._error(
                        f"scenario '{name}' is {row['status']} and locked; move it back to draft (if proposed) or "
                        "save the change under a new name",
                        f"scenarios.{name}.status",
                    )
                revision = int(row["revision"]) + 1
                previous = self.load(name)
                con.execute(
                    "UPDATE scenarios SET revision = ?, scheme_id = ?, updated_by = ?, updated_at = ? WHERE name = ?",
                    (revision, scheme.id, user, now, name),
                )
            con.execute(
                "INSERT INTO revisions VALUES (?, ?, ?, ?, ?, ?)", (name, revision, text, user, now, note)
            )
            self._log(
                con,
                user,
                "save",
                name,
                {"revision": revision, "note": note, "diff": scheme_diff(previous, scheme)},
            )
        return revision

    def load(self, name: str, revision: int | None = None) -> Scheme:
        """The scheme saved as ``name`` (latest revision unless ``revision`` is given)."""
        with self._connect() as con:
            row = self._row(con, name)
            rev = int(row["revision"]) if revision is None else int(revision)
            found = con.execute(
                "SELECT scheme_yaml FROM revisions WHERE name = ? AND revision = ?", (name, rev)
            ).fetchone()
        if found is None:
            raise self._error(
                f"scenario '{name}' has no revision {rev} (latest {row['revision']})", f"scenarios.{name}"
            )
        return parse_model(
            Scheme, yaml.safe_load(found["scheme_yaml"]), file=f"{self.path} scenario '{name}' r{rev}"
        )

    def list(self) -> pd.DataFrame:
        """Saved scenarios: ``name, scheme_id, status, revision, created_by, created_at, updated_by, updated_at``."""
        with self._connect() as con:
            rows = [dict(r) for r in con.execute("SELECT * FROM scenarios ORDER BY updated_at DESC, name")]
        columns = [
            "name",
            "scheme_id",
            "status",
            "revision",
            "created_by",
            "created_at",
            "updated_by",
            "updated_at",
        ]
        return pd.DataFrame(rows, columns=columns)

    def revisions(self, name: str) -> pd.DataFrame:
        """Every revision of ``name``: ``revision, created_by, created_at, note``."""
        with self._connect() as con:
            self._row(con, name)
            rows = [
                dict(r)
                for r in con.execute(
                    "SELECT revision, created_by, created_at, note FROM revisions WHERE name = ? ORDER BY revision",
                    (name,),
                )
            ]
        return pd.DataFrame(rows, columns=["revision", "created_by", "created_at", "note"])

    def compare(
        self, a: str, b: str, *, revision_a: int | None = None, revision_b: int | None = None
    ) -> pd.DataFrame:
        """Key-by-key differences between two saved scenarios (or revisions): ``key, <a>, <b>``."""
        diff = scheme_diff(self.load(a, revision_a), self.load(b, revision_b))
        return pd.DataFrame(
            [{"key": d["key"], "a": d["old"], "b": d["new"]} for d in diff], columns=["key", "a", "b"]
        )

    def status(self, name: str) -> str:
        with self._connect() as con:
            return str(self._row(con, name)["status"])

    def involved(self, name: str) -> dict[str, str]:
        """Who stands behind scenario ``name`` as it is now: ``{"proposed": user, "last edited": user}`` (the user
        of its latest move to proposed, from the audit log, and the author of its current revision)."""
        with self._connect() as con:
            return self._involved(con, self._row(con, name))

    def _involved(self, con: sqlite3.Connection, row: sqlite3.Row) -> dict[str, str]:
        out: dict[str, str] = {}
        edited = con.execute(
            "SELECT created_by FROM revisions WHERE name = ? AND revision = ?", (row["name"], row["revision"])
        ).fetchone()
        for r in con.execute(
            "SELECT user, detail FROM audit WHERE target = ? AND action = 'status' ORDER BY seq DESC",
            (row["name"],),
        ):
            if any(d.get("new") == "proposed" for d in json.loads(r["detail"]).get("diff", [])):
                out["proposed"] = str(r["user"])
                break
        if edited is not None:
            out["last edited"] = str(edited["created_by"])
        return out

    def set_status(
        self, name: str, status: str, *, user: str, note: str = "", four_eyes: bool = False
    ) -> None:
        """Move ``name`` along draft → proposed → approved (proposed → draft sends it back).

        ``four_eyes=True``: the approver must be someone other than the user who proposed the scenario and the
        one who saved its current revision (user names compared case-insensitively).

        Raises
        ------
        ScenarioError
            Unknown status or a transition that is not allowed (e.g. draft → approved, approved → anything).
        FourEyesError
            ``four_eyes`` and ``user`` proposed or last edited the scenario (the refusal is in the audit log).
        """
        user = self._user(user)
        if status not in STATUSES:
            raise self._error(
                f"unknown status '{status}'; use one of {', '.join(STATUSES)}", f"scenarios.{name}.status"
            )
        refusal = ""
        with self._connect() as con:
            row = self._row(con, name)
            old = row["status"]
            if (old, status) not in _TRANSITIONS:
                allowed = sorted(t for f, t in _TRANSITIONS if f == old)
                raise self._error(
                    f"scenario '{name}' is {old}; it can move to {', '.join(allowed) or 'nothing (approved is final)'}"
                    f", not {status}",
                    f"scenarios.{name}.status",
                )
            if status == "approved" and four_eyes:
                involved = self._involved(con, row)
                roles = [what for what, who in involved.items() if who.lower() == user.lower()]
                if roles:
                    refusal = (
                        f"four-eyes approval: {user} {' and '.join(roles)} scenario '{name}', so another HR user "
                        "must approve it (a team of one can turn this off with `four_eyes: false` in access.yaml)"
                    )
                    # recorded, then refused: the audit row commits with this transaction, the status stays
                    self._log(
                        con,
                        user,
                        "refused",
                        name,
                        {
                            "revision": row["revision"],
                            "wanted": status,
                            "reason": refusal,
                            "involved": involved,
                        },
                    )
            if not refusal:
                con.execute(
                    "UPDATE scenarios SET status = ?, updated_by = ?, updated_at = ? WHERE name = ?",
                    (status, user, _now(), name),
                )
                self._log(
                    con,
                    user,
                    "status",
                    name,
                    {
                        "revision": row["revision"],
                        "note": note,
                        "diff": [{"key": "status", "old": old, "new": status}],
                    },
                )
        if refusal:
            raise FourEyesError(refusal, file=str(self.path), key=f"scenarios.{name}.status")

    # ---------------------------------------------------------------------------------------- snapshots
    def snapshot(
        self, name: str, payouts: pd.DataFrame, *, user: str, data_stamp: str = "", label: str = ""
    ) -> int:
        """Lock a payout run of scenario ``name`` (its current revision) as a new immutable snapshot; returns its id.

        A rerun with the same inputs makes another snapshot (with the same content hash) — never an edit."""
        user = self._user(user)
        payload = _frame_bytes(payouts)
        digest = hashlib.sha256(payload).hexdigest()
        total = (
            float(pd.to_numeric(payouts.get("payout"), errors="coerce").sum()) if "payout" in payouts else 0.0
        )
        with self._connect() as con:
            row = self._row(con, name)
            cur = con.execute(
                "INSERT INTO snapshots (scenario, revision, label, created_by, created_at, data_stamp, rows, "
                "total_payout, content_hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    row["revision"],
                    label,
                    user,
                    _now(),
                    data_stamp,
                    len(payouts),
                    total,
                    digest,
                    payload,
                ),
            )
            snap_id = int(cur.lastrowid or 0)
            self._log(
                con,
                user,
                "snapshot",
                name,
                {
                    "snapshot": snap_id,
                    "revision": row["revision"],
                    "rows": len(payouts),
                    "content_hash": digest,
                    "total_payout": total,
                    "data_stamp": data_stamp,
                },
            )
        return snap_id

    def snapshots(self, name: str | None = None) -> pd.DataFrame:
        """Snapshot list (no payload): ``id, scenario, revision, label, created_by, created_at, data_stamp, rows,
        total_payout, content_hash``."""
        sql = (
            "SELECT id, scenario, revision, label, created_by, created_at, data_stamp, rows, total_payout, "
            "content_hash FROM snapshots"
        )
        args: tuple[Any, ...] = ()
        if name is not None:
            sql, args = sql + " WHERE scenario = ?", (name,)
        with self._connect() as con:
            rows = [dict(r) for r in con.execute(sql + " ORDER BY id", args)]
        columns = [
            "id",
            "scenario",
            "revision",
            "label",
            "created_by",
            "created_at",
            "data_stamp",
            "rows",
            "total_payout",
            "content_hash",
        ]
        return pd.DataFrame(rows, columns=columns)

    def load_snapshot(self, snapshot_id: int) -> Snapshot:
        """The snapshot, after checking its payload against the hash recorded when it was taken (in the snapshot
        row *and* in the audit log).

        Raises
        ------
        SnapshotIntegrityError
            The payload or its recorded hash was changed: the snapshot is refused.
        ScenarioError
            No such snapshot.
        """
        with self._connect() as con:
            row = con.execute(
                # CAST: a payload rewritten as text still reads as bytes, so it is checked (and refused), not crashed on
                "SELECT id, scenario, revision, label, created_by, created_at, data_stamp, content_hash, "
                "CAST(payload AS BLOB) AS payload FROM snapshots WHERE id = ?",
                (int(snapshot_id),),
            ).fetchone()
            logged = (
                [
                    json.loads(r["detail"]).get("content_hash")
                    for r in con.execute(
                        "SELECT detail FROM audit WHERE action = 'snapshot' AND target = ?",
                        (row["scenario"],),
                    )
                ]
                if row is not None
                else []
            )
        if row is None:
            raise self._error(f"no snapshot {snapshot_id}", f"snapshots.{snapshot_id}")
        raw = row["payload"]
        # a payload rewritten with another type (e.g. SQL text concatenation) is tampering too
        payload = bytes(raw) if isinstance(raw, bytes | bytearray | memoryview) else str(raw).encode()
        actual = hashlib.sha256(payload).hexdigest()
        key = f"snapshots.{snapshot_id}"
        if actual != row["content_hash"] or row["content_hash"] not in logged:
            raise SnapshotIntegrityError(
                f"snapshot {snapshot_id} of '{row['scenario']}' has been altered: its content hashes to {actual[:12]}…, "
                f"but {row['content_hash'][:12]}… was recorded when it was taken. It is refused; rerun the payouts to "
                "make a new snapshot and investigate who changed the database (see the audit log).",
                file=str(self.path),
                key=key,
            )
        frame = pd.read_parquet(io.BytesIO(payload))
        return Snapshot(
            id=int(row["id"]),
            scenario=row["scenario"],
            revision=int(row["revision"]),
            label=row["label"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            data_stamp=row["data_stamp"],
            content_hash=row["content_hash"],
            payouts=frame,
        )

    # ---------------------------------------------------------------------------------------- audit
    def audit(self, name: str | None = None) -> pd.DataFrame:
        """The audit log: ``seq, at, user, action, target, detail`` (detail is parsed JSON incl. the ``diff``)."""
        sql = "SELECT seq, at, user, action, target, detail FROM audit"
        args: tuple[Any, ...] = ()
        if name is not None:
            sql, args = sql + " WHERE target = ?", (name,)
        with self._connect() as con:
            rows = [dict(r) for r in con.execute(sql + " ORDER BY seq", args)]
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return pd.DataFrame(rows, columns=["seq", "at", "user", "action", "target", "detail"])

    def verify(self) -> None:
        """Check the audit hash chain and every snapshot's hash.

        Raises
        ------
        SnapshotIntegrityError
            Naming the first audit row or snapshot that no longer matches.
        """
        with self._connect() as con:
            prev = ""
            for r in con.execute("SELECT * FROM audit ORDER BY seq"):
                digest = hashlib.sha256(
                    "\x1f".join((prev, r["at"], r["user"], r["action"], r["target"], r["detail"])).encode()
                ).hexdigest()
                if r["prev_hash"] != prev or r["hash"] != digest:
                    raise SnapshotIntegrityError(
                        f"audit row {r['seq']} ({r['action']} of '{r['target']}' by {r['user']}) was changed or a row "
                        "before it was removed; the audit chain is broken from here",
                        file=str(self.path),
                        key=f"audit.{r['seq']}",
                    )
                prev = r["hash"]
            ids = [int(r["id"]) for r in con.execute("SELECT id FROM snapshots")]
        for snap_id in ids:
            self.load_snapshot(snap_id)
