# %% [markdown]
# # From a call-detail export to your first briefing
#
# Most contact centres can export one row per call from their ACD or contact-centre platform: when the call
# entered the queue, left it, was answered and ended, its outcome and the agent. This how-to starts from such an
# export, maps it to the data contract with a `sources.yaml` (no code), derives the interval report from the calls,
# checks whether Erlang C or Erlang A describes the centre, and ends with the ranked actions and the HTML briefing.
#
# To keep the example self-contained, the "export" is written from the bundled sample organisation's phone calls,
# in the column layout of the generic call-detail-record preset. With your own export, skip that step and point
# `file:` at it.

# %%
import json
import tempfile
from pathlib import Path

import pandas as pd
import yaml

import cx_framework as cx
from cx_framework.sources import import_sources, preset

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())
work = Path(tempfile.mkdtemp(prefix="cx_howto_"))

# %% [markdown]
# ## 1. The raw export
#
# One row per inbound call, with the platform's own column names and outcome codes.

# %%
org = cx.load_sample()
calls = org.contacts[org.contacts["channel"] == "phone"]
entered = calls["timestamp"]
left = entered + pd.to_timedelta(calls["wait_s"], unit="s")
answered = ~calls["abandoned"]
export = pd.DataFrame(
    {
        "call_id": calls["contact_id"],
        "caller_id": calls["customer_id"],
        "queue": calls["queue"],
        "queue_entry_time": entered.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "queue_exit_time": left.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "answer_time": left.where(answered).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "end_time": (left + pd.to_timedelta(calls["handle_s"], unit="s"))
        .where(answered)
        .dt.strftime("%Y-%m-%d %H:%M:%S"),
        "outcome": answered.map({True: "ANSWERED", False: "ABANDONED"}),
        "agent_id": calls["agent_id"],
        "wrap_code": calls["reason"],
        "first_call_resolution": calls["resolved_first_contact"].map({True: "Y", False: "N"}),
    }
)
export.to_csv(work / "cdr_export.csv", index=False)
print(f"{len(export):,} calls from {export['queue_entry_time'].min()} to {export['queue_entry_time'].max()}")
export.head(3)

# %% [markdown]
# ## 2. Map it with `sources.yaml`
#
# The generic call-detail-record preset already knows how to turn queue entry/exit and answer/end times into
# `wait_s` and `handle_s`, and the outcome codes into `abandoned`. Only what the preset cannot know is added: the
# first-call-resolution flag's codes. `intervals` are derived from the calls (30-minute intervals, 20-second
# threshold); with no agent-state table, staffed agents are *estimated* from the calls and marked as such.

# %%
print(preset("generic_cdr")["title"])
sources = {
    "tables": {
        "contacts": {
            "preset": "generic_cdr",
            "file": "cdr_export.csv",
            "columns": {
                "resolved_first_contact": {
                    "column": "first_call_resolution",
                    "values": {"Y": True, "N": False},
                }
            },
        },
        "intervals": {"derive": "contacts", "interval_minutes": 30},
    }
}
(work / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))
print((work / "sources.yaml").read_text())

# %% [markdown]
# ## 3. Import: validated tables and an import report
#
# The same as `cx import sources.yaml --out DATA_DIR` on the command line. Every row is validated; rejected rows are
# counted with their reasons, and nothing is written unless every table can be read.

# %%
data = import_sources(work / "sources.yaml", work / "data")
print(json.dumps(data.report.to_dict()["tables"], indent=1, default=str)[:1500])

# %% [markdown]
# ## 4. Which queueing model describes this centre?
#
# Erlang C ignores callers who hang up; Erlang A models their patience, estimated from the data as total waiting
# time / abandoned calls. The calibration table compares each model's predicted service level and abandonment with
# what was observed, per interval.

# %%
intervals = data.tables["intervals"]
print(
    f"{len(intervals):,} intervals; agents estimated from the calls: {bool(intervals['agents_staffed_estimated'].all())}"
)
sl = cx.aggregate_service_level(intervals)
print(f"realised service level over the export: {float(sl):.1%}" if not hasattr(sl, "__len__") else sl)

# %%
fit = cx.staffing.fit_queue_models(intervals, contacts=data.tables["contacts"])
print(fit.summary())
fit.overall

# %% [markdown]
# ## 5. What the calls alone can answer
#
# An `Analysis` is every analysis of one data set under one configuration and one set of assumptions, computed
# once. With only calls and the derived intervals, the sections that need other tables say which table they need;
# the others run.

# %%
calls_only = cx.Analysis.from_data_dir(work / "data", CONFIGS)
for section, why in calls_only.unavailable().items():
    print(f"- {section}: {why}")
for figure in calls_only.figures("staffing", "failure_demand"):
    print(f"{figure.label}: {figure.formatted()}")

# %% [markdown]
# ## 6. Add the CRM and HR extracts, and brief
#
# With customers, employees, their monthly metrics, department metrics and work items (here: the sample's), every
# section runs. The ranked actions are the briefing's first page; `build_report` writes the whole briefing as one
# self-contained HTML file (the same as `cx report DATA_DIR --out briefing.html`).

# %%
for name in ("customers", "employees", "employee_metrics", "department_metrics", "work_items"):
    cx.write_table(getattr(org, name), work / "data" / f"{name}.parquet")
analysis = cx.Analysis.from_data_dir(work / "data", CONFIGS)
plan = analysis.result("actions")
print(plan.summary())

# %% [markdown]
# In a notebook, a result object on the last line of a cell displays as a card: its key figures with the labels
# and formats every surface uses, a small table and the caveats.

# %%
plan

# %%
for figure in analysis.figures("scorecard", "staffing", "retention"):
    print(f"{figure.label}: {figure.formatted()}")
print("\nAssumptions:", *analysis.assumptions_lines(), sep="\n- ")

# %%
report = cx.build_report(
    analysis.tables, analysis.config, work / "briefing.html", plan=plan, analysis=analysis
)
print(f"briefing written: {report.name}, {report.stat().st_size / 1e6:.1f} MB")
