"""``cx statements``, ``cx hash-password`` and ``cx scenarios``: payee statements, access-file passwords and the
compensation database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cx_framework.cli._app import command, console, info_console
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Sources, check_configs, check_inputs
from cx_framework.cli._options import check_outputs, parse_month
from cx_framework.errors import CxError, InputValueError

__all__ = ["statements_command", "hash_password_command", "scenarios_command"]


def _viewer(
    configs: Path, user: str | None, *, ask: str = "pass --user (or set CX_USER)"
) -> Any:  # Viewer | None
    """The signed-in viewer when an access file is configured (password from CX_PASSWORD or a hidden prompt);
    None when access control is off. ``ask`` says how to name the user (commands without ``--user`` read
    ``CX_USER``)."""
    from cx_framework.access import AccessError, find_access_file, load_access
    from cx_framework.config import load_config

    path = find_access_file(configs)
    if path is None:
        info_console.print(
            "[yellow]Access control is off[/] (no access.yaml): individual pay is not protected."
        )
        return None
    policy = load_access(path, organisation=load_config(configs).organisation)
    if policy.authentication == "oidc":
        raise AccessError(
            f"{path} signs users in through an identity provider (authentication: oidc); the command line cannot "
            "do that — use the app, or ask HR for the statements"
        )
    user = user or os.environ.get("CX_USER")
    if not user:
        raise InputValueError(
            f"--user: access control is on ({path}): individual pay needs a signed-in user; {ask}",
            argument="--user",
        )
    password = os.environ.get("CX_PASSWORD")
    if password is None:
        password = typer.prompt(f"Password for {user}", hide_input=True)
    viewer = policy.authenticate(user, password)
    return viewer


def _aggregate_viewer(configs: Path) -> Any:  # Viewer | None
    """Who reads a command's pay *aggregates* (e.g. compare-schemes' winners and losers): None with access
    control off; the signed-in user when ``CX_USER`` is set (password from CX_PASSWORD or a prompt); else the
    policy's not-signed-in viewer, who sees no group smaller than access.yaml's ``min_group_size``."""
    from cx_framework.access import find_access_file, load_access

    path = find_access_file(configs)
    if path is None:
        return None
    if os.environ.get("CX_USER"):
        return _viewer(configs, None, ask="set CX_USER (and CX_PASSWORD, or answer the prompt)")
    return load_access(path).anonymous()


def _authorize(configs: Path, viewer: Any, section: str) -> None:
    """Refuse ``section`` (individual pay) unless ``viewer`` may read it; a refusal is logged, also to the
    access file's ``denied_log``."""
    from cx_framework.access import authorize, find_access_file, load_access

    path = find_access_file(configs)
    if path is None:
        authorize(viewer, section)
    else:
        load_access(path).authorize(viewer, section)


def comp_database(configs: Path) -> Path:
    """The compensation database file: ``CX_COMP_DB`` when set (as the app), else ``<configs>/compensation.sqlite``."""
    from cx_framework.scenarios import DEFAULT_DB_NAME

    env = os.environ.get("CX_COMP_DB")
    return Path(env) if env else configs / DEFAULT_DB_NAME


def _store(configs: Path) -> Any:  # ScenarioStore
    from cx_framework.scenarios import ScenarioStore

    path = comp_database(configs)
    if not path.is_file():
        raise CxError(
            f"{path}: no compensation database yet; save a scenario from the Incentive modeller first "
            "(or set CX_COMP_DB to the app's database)"
        )
    return ScenarioStore(path)


@command("statements")
def statements_command(
    period: Annotated[
        str, typer.Option("--period", help="Period to state, YYYY-MM (any month of a quarter).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for the HTML statements (one per employee).")],
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme",
            help="Scheme id (configs/incentives) or a scheme .yaml path (or --scenario / --snapshot).",
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="A saved scenario of the compensation database (latest revision), e.g. the approved one.",
        ),
    ] = None,
    snapshot: Annotated[
        int | None,
        typer.Option(
            "--snapshot",
            help="A locked payout snapshot id (cx scenarios): state exactly its payouts (hash verified) under "
            "the scenario revision it was taken of; needs no data unless --proposed is given.",
        ),
    ] = None,
    data_dir: DataDir = None,
    sources: Sources = None,
    proposed: Annotated[
        str | None,
        typer.Option("--proposed", help="Show the change under this proposed scheme (id or .yaml)."),
    ] = None,
    configs: Configs = CONFIGS_DIR,
    user: Annotated[
        str | None, typer.Option("--user", help="Signed-in user when access.yaml is configured.")
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also write each statement as a PDF beside its HTML (fpdf2).")
    ] = False,
) -> None:
    """Write one self-contained HTML pay statement per employee for PERIOD under SCHEME, a saved SCENARIO or a
    locked payout SNAPSHOT (atomic writes; --pdf: a PDF of the same statement beside each).

    Needs employees and employee_metrics (DATA_DIR or --sources), except for --snapshot. The compensation
    database is CX_COMP_DB, else compensation.sqlite beside the configs."""
    month = parse_month(period, "--period")
    assert month is not None
    given = [
        name
        for name, value in (("--scheme", scheme), ("--scenario", scenario), ("--snapshot", snapshot))
        if value is not None
    ]
    if len(given) != 1:
        raise InputValueError(
            "--scheme: name what to state with exactly one of --scheme ID|FILE, --scenario NAME or --snapshot ID"
            + (f" (got {', '.join(given)})" if given else ""),
            argument="--scheme",
        )
    check_outputs({"--out": (out / ".statement.html", None)})
    needs_data = snapshot is None or proposed is not None
    inputs = check_inputs(data_dir, sources, configs, required=needs_data)
    from cx_framework.analysis.sections import scheme_payouts
    from cx_framework.cli._analysis import open_analysis
    from cx_framework.cli._app import err_console, lit
    from cx_framework.cli.incentive_commands import _resolve_scheme
    from cx_framework.config import load_config
    from cx_framework.statements import statement_period, write_statements

    viewer = _viewer(inputs.configs, user)
    _authorize(inputs.configs, viewer, "statements")  # refuse before reading any pay
    config = load_config(inputs.configs)
    locked = None
    if snapshot is not None:
        store = _store(inputs.configs)
        locked = store.load_snapshot(snapshot)  # SnapshotIntegrityError when it was altered
        chosen = store.load(locked.scenario, locked.revision)
    elif scenario is not None:
        store = _store(inputs.configs)
        chosen = store.load(scenario)
        config.with_scheme(chosen)  # cross-checked against the metric catalogue
        status = store.status(scenario)
        if status != "approved":
            info_console.print(
                f"[yellow]note:[/] scenario '{lit(scenario)}' is {status}, not approved: these statements state "
                "a scheme nobody has approved yet",
                highlight=False,
            )
    else:
        assert scheme is not None
        chosen = _resolve_scheme(config, scheme)
    analysis = None
    if needs_data:
        # the Analysis' payouts (the same numbers as cx payouts, the report's workbook and the app: retention
        # clawbacks on the same credited sales); reading them goes through the access rules for this viewer
        analysis = open_analysis(inputs)
        analysis.viewer = viewer
        config = analysis.config
    alternative = _resolve_scheme(config, proposed) if proposed else None
    if locked is not None:
        payouts = locked.payouts
        info_console.print(
            f"Snapshot {locked.id} of '{locked.scenario}' revision {locked.revision} (locked by "
            f"{locked.created_by} at {locked.created_at}; content hash verified)",
            markup=False,
            highlight=False,
        )
    else:
        assert analysis is not None
        payouts = scheme_payouts(analysis, chosen)
    # a month without payouts is a clear error before anything is written
    statement_period(payouts, f"{month:%Y-%m}", quarterly=chosen.period == "quarter")
    alt = scheme_payouts(analysis, alternative) if alternative and analysis is not None else None
    if analysis is not None:
        for note in analysis.notes("payouts"):
            err_console.print(f"[yellow]note:[/] {lit(note)}", highlight=False)
    written = write_statements(
        payouts,
        chosen,
        f"{month:%Y-%m}",
        out,
        catalogue=config.metrics,
        currency=config.economics.currency,
        proposed=alternative,
        proposed_payouts=alt,
        viewer=viewer,
        pdf=pdf,
    )
    pdfs = sum(p.suffix == ".pdf" for p in written)
    console.print(
        f"Wrote {len(written) - pdfs} statement(s) to {out}" + (f" (and {pdfs} PDF)" if pdfs else ""),
        markup=False,
        highlight=False,
    )


@command("hash-password")
def hash_password_command() -> None:
    """Print an Argon2id hash of a password (asked twice, hidden) for access.yaml `password_hash`."""
    from cx_framework.access import hash_password

    password = os.environ.get("CX_NEW_PASSWORD")
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    console.print(hash_password(password), markup=False, highlight=False)


def _move(configs: Path, store: Any, name: str, status: str, *, user: str | None, note: str) -> None:
    """Change a scenario's status as the signed-in user (access control on) or ``--user`` / CX_USER (off).
    Approval is HR's (refusal logged) and, with access control on, four-eyes unless access.yaml turns it off;
    a four-eyes refusal is recorded in the audit log."""
    from cx_framework.access import find_access_file, load_access

    viewer = _viewer(configs, user, ask="pass --user (or set CX_USER) and CX_PASSWORD")
    if viewer is None:
        who = (user or os.environ.get("CX_USER") or "").strip()
        if not who:
            raise InputValueError(
                "--user: every change to a scenario records who made it; pass --user NAME (or set CX_USER)",
                argument="--user",
            )
        four_eyes = False
    else:
        who = viewer.user
        path = find_access_file(configs)
        assert path is not None  # a viewer means access control is on
        four_eyes = load_access(path).four_eyes
    if status == "approved":
        _authorize(configs, viewer, "approve")  # HR only (refusal logged)
    store.set_status(name, status, user=who, note=note, four_eyes=four_eyes)
    console.print(f"'{name}' is now {status} ({who})", markup=False, highlight=False)


@command("scenarios")
def scenarios_command(
    configs: Annotated[
        Path,
        typer.Option("--configs", help="Config directory (holds compensation.sqlite; CX_COMP_DB overrides)."),
    ] = Path("configs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the audit chain and every snapshot hash.")
    ] = False,
    propose: Annotated[
        str | None, typer.Option("--propose", help="Move this draft scenario to proposed.")
    ] = None,
    approve: Annotated[
        str | None,
        typer.Option(
            "--approve",
            help="Approve this proposed scenario (HR only; with access control on, by another HR user than the "
            "one who proposed or last edited it — access.yaml four_eyes).",
        ),
    ] = None,
    to_draft: Annotated[
        str | None, typer.Option("--to-draft", help="Send this proposed scenario back to draft.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="Who makes the change (CX_USER; signed in when access.yaml is configured)."
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")] = "",
) -> None:
    """List saved scenarios (status, revision, who and when) and snapshots of the compensation database; move a
    scenario along draft → proposed → approved (--propose / --approve / --to-draft, recorded in the audit log)."""
    check_configs(configs)
    moves = [(n, s) for n, s in ((propose, "proposed"), (approve, "approved"), (to_draft, "draft")) if n]
    if len(moves) > 1:
        raise InputValueError(
            "--approve: give one of --propose, --approve or --to-draft at a time", argument="--approve"
        )
    store = _store(configs)
    if moves:
        _move(configs, store, *moves[0], user=user, note=note)
    if verify:
        store.verify()
    scenarios, snapshots = store.list(), store.snapshots()
    if as_json:
        print(
            json.dumps(
                {
                    "scenarios": scenarios.to_dict("records"),
                    "snapshots": snapshots.to_dict("records"),
                    "verified": verify,
                },
                default=str,
            )
        )
        return
    from rich.table import Table

    from cx_framework.cli._app import lit

    if len(scenarios):
        table = Table(title=f"Scenarios in {lit(store.path)}", title_justify="left")
        for col in ("scenario", "scheme", "status", "revision", "changed by", "changed at"):
            table.add_column(
                col, justify="right" if col == "revision" else "left", no_wrap=col in {"status", "revision"}
            )
        for r in scenarios.itertuples(index=False):
            table.add_row(
                lit(r.name),
                lit(r.scheme_id),
                lit(r.status),
                str(r.revision),
                lit(r.updated_by),
                lit(r.updated_at),
            )
        console.print(table)
    else:
        console.print("no scenarios", markup=False)
    if len(snapshots):
        snaps = Table(
            title="Payout snapshots (locked runs; cx statements --snapshot ID)", title_justify="left"
        )
        for col in (
            "id",
            "scenario",
            "revision",
            "locked by",
            "locked at",
            "employee-periods",
            "total payout",
        ):
            snaps.add_column(
                col,
                justify="left" if col in {"scenario", "locked by", "locked at"} else "right",
                no_wrap=col in {"id", "revision", "employee-periods", "total payout"},
            )
        for r in snapshots.itertuples(index=False):
            snaps.add_row(
                str(r.id),
                lit(r.scenario),
                str(r.revision),
                lit(r.created_by),
                lit(r.created_at),
                f"{int(r.rows):,}",
                f"{float(r.total_payout):,.2f}",
            )
        console.print(snaps)
    else:
        console.print("no snapshots", markup=False)
    if verify:
        console.print("audit chain and snapshot hashes verified", markup=False)
