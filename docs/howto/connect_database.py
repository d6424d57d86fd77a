# %% [markdown]
# # Connect a database or your own exports
#
# Your data does not arrive in the data contract's shape. A CRM calls the customer `cust_no`, stores the segment as
# a code and the revenue in pence; an HR system keeps monthly salaries; a contact-centre platform exports its own
# column names and outcome codes. **`sources.yaml`** says, per contract table, where the rows are and how the
# source columns become contract columns — no code:
#
# * **where**: `file:` (a CSV/Parquet file or glob), `duckdb:` (a DuckDB database file) with `table:` or
#   `query:`, or `connection:` (a named database connection, e.g. PostgreSQL) with `table:` or `query:`;
# * **how**: `columns:` (contract column → source column, with `values:` maps, `unit:` conversions,
#   `multiply:`, timestamp `format:` and `timezone:`, `constant:`, `duration:` between two timestamps),
#   `filters:` on source rows, and `preset:` for common exports;
# * `intervals` can be `derive: contacts` — built from call-level contacts.
#
# `cx import sources.yaml --out DATA_DIR` reads every table through its mapping, validates every row against the
# data contract, and writes the tables and an import report; every `cx` command then runs on `DATA_DIR`.
#
# This page builds a DuckDB database file standing in for a warehouse (from the bundled sample, renamed into a
# source system's layout), maps it, imports it, and shows the same mapping for PostgreSQL.

# %%
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import yaml

import cx_framework as cx
from cx_framework.errors import ConfigError
from cx_framework.sources import import_sources, list_presets, load_sources, preset, read_sources

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())
work = Path(tempfile.mkdtemp(prefix="cx_sources_"))


def cx_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the `cx` command line (as a shell would) and print what it prints."""
    run = subprocess.run(
        [sys.executable, "-c", "from cx_framework.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "110"},
    )
    print(run.stdout + run.stderr)
    return run


# %% [markdown]
# ## 1. Presets for common exports
#
# A preset is a ready-made column mapping for one kind of export. `cx presets` lists them; a table that uses one
# adds or overrides only what differs in your export.

# %%
cx_cli("presets")

# %%
print(yaml.safe_dump(preset("bamboohr_employees")["columns"], sort_keys=False))
sorted(list_presets())

# %% [markdown]
# ## 2. A database in the source system's layout
#
# The warehouse has a `crm.customer` table (segment codes, revenue in pence, dates as text in the UK day-first
# format) and an `hr.staff` table with monthly salaries and people from departments the scorecard does not cover.

# %%
SAMPLE = CONFIGS.parent / "data" / "sample"
customers = cx.read_table(SAMPLE / "customers.parquet", "customers")  # the bundled sample's tables
employees = cx.read_table(SAMPLE / "employees.parquet", "employees")
segment_codes = {"consumer": "C", "small_business": "SB", "premium": "P"}
crm = pd.DataFrame(
    {
        "cust_no": customers["customer_id"],
        "seg": customers["segment"].map(segment_codes),
        "product_line": customers["product"].str.upper(),
        "opened": customers["start_date"].dt.strftime("%d/%m/%Y"),
        "mrr_pence": (customers["monthly_revenue"] * 100).round().astype("int64"),
        "closed": customers["churn_date"].dt.strftime("%d/%m/%Y"),
    }
)
staff = pd.DataFrame(
    {
        "emp_no": employees["employee_id"],
        "dept": employees["department"],
        "team_code": employees["team"],
        "job": employees["role"],
        "salary_monthly": (employees["base_salary"] / 12).round(2),
        "start": employees["hire_date"],
        "leaver": employees["leave_date"],
    }
)
facilities = staff.head(3).assign(emp_no=["F1", "F2", "F3"], dept="facilities")
database = work / "warehouse.duckdb"
with duckdb.connect(str(database)) as con:
    con.execute("create schema crm; create schema hr")
    con.execute("create table crm.customer as select * from crm")
    con.execute(
        "create table hr.staff as select * from (select * from staff union all select * from facilities)"
    )
    print(con.execute("select * from crm.customer limit 3").df())

# %% [markdown]
# ## 3. The mapping
#
# `customers` reads a whole table; `employees` a query, with a row filter that leaves out facilities staff. The
# value map turns segment codes into the contract's segments (a code not in the map is an error, so a new code in
# the source is caught, not silently dropped); `multiply` turns pence into pounds and monthly into yearly pay;
# `format` reads the day-first dates.

# %%
sources = {
    "timezone": "Europe/London",
    "tables": {
        "customers": {
            "duckdb": "warehouse.duckdb",
            "table": "crm.customer",
            "columns": {
                "customer_id": "cust_no",
                "segment": {
                    "column": "seg",
                    "values": {"C": "consumer", "SB": "small_business", "P": "premium"},
                },
                "product": {
                    "column": "product_line",
                    "values": {"MOBILE": "mobile", "BROADBAND": "broadband", "BUNDLE": "bundle"},
                },
                "start_date": {"column": "opened", "format": "%d/%m/%Y"},
                "monthly_revenue": {"column": "mrr_pence", "multiply": 0.01},
                "churn_date": {"column": "closed", "format": "%d/%m/%Y"},
            },
        },
        "employees": {
            "duckdb": "warehouse.duckdb",
            "query": "select * from hr.staff",
            "filters": [{"column": "dept", "op": "ne", "value": "facilities"}],
            "columns": {
                "employee_id": "emp_no",
                "department": "dept",
                "team": "team_code",
                "role": "job",
                "base_salary": {"column": "salary_monthly", "multiply": 12},
                "hire_date": "start",
                "leave_date": "leaver",
            },
        },
    },
}
(work / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))
print((work / "sources.yaml").read_text())

# %% [markdown]
# ## 4. Import
#
# The command line: every row validated, nothing written unless every table can be read, then one Parquet file per
# table and `import_report.json` (rows read, filtered, rejected with the reason, mapping used).

# %%
run = cx_cli("import", str(work / "sources.yaml"), "--out", str(work / "data"))
assert run.returncode == 0

# %% [markdown]
# The same from Python is `cx_framework.sources.import_sources(sources, out_dir)` (or `read_sources(sources)`
# to get the validated frames without writing them). The report, per table:

# %%
report = json.loads((work / "data" / "import_report.json").read_text())["tables"]
print(json.dumps(report["employees"], indent=1, default=str)[:1200])
data = {name: cx.read_table(work / "data" / f"{name}.parquet", name) for name in ("customers", "employees")}
data["customers"].head()

# %% [markdown]
# The imported tables are the sample's, value for value:

# %%
imported = data["customers"].sort_values("customer_id").reset_index(drop=True)
expected = customers.sort_values("customer_id").reset_index(drop=True)
pd.testing.assert_series_equal(imported["monthly_revenue"], expected["monthly_revenue"], check_dtype=False)
assert (imported["segment"] == expected["segment"]).all()
assert len(data["employees"]) == len(employees)  # the facilities rows were filtered out
print("customers and employees match the sample")

# %% [markdown]
# ## 5. Mistakes are named
#
# A segment code the map does not know — the usual first sign that the source system changed — stops the import
# with the file, the key of the mapping, the offending value and what to do (`cx import` prints the same line in
# red and exits with code 2):

# %%
with duckdb.connect(str(database)) as con:
    con.execute("update crm.customer set seg = 'VIP' where cust_no = 'C0000042'")
try:
    import_sources(work / "sources.yaml", work / "data_bad")  # what `cx import` runs; it prints this one line
except ConfigError as error:
    print(error)
print(f"nothing written: {not (work / 'data_bad').exists()}")
with duckdb.connect(str(database)) as con:  # put the code back
    con.execute(
        "update crm.customer set seg = ? where cust_no = 'C0000042'",
        [segment_codes[customers.set_index("customer_id").loc["C0000042", "segment"]]],
    )

# %% [markdown]
# ## 6. PostgreSQL and other databases
#
# A database server is a named **connection**. Keep the password out of the file with `url_env`, the name of an
# environment variable holding the URL (`postgresql://user:password@host:5432/db`); the tables then say
# `connection:` instead of `duckdb:`, with the same `table:` / `query:`, `columns:` and `filters:`. This page does
# not connect to a server (the docs build has none); `load_sources` checks the file, as `cx import` does before it
# connects.

# %%
postgres_sources = """
connections:
  warehouse: {url_env: CX_WAREHOUSE_URL}   # export CX_WAREHOUSE_URL=postgresql://cx:secret@db.internal:5432/crm
tables:
  customers:
    connection: warehouse
    table: crm.customer
    columns:
      customer_id: cust_no
      segment: {column: seg, values: {C: consumer, SB: small_business, P: premium}}
      product: {column: product_line, values: {MOBILE: mobile, BROADBAND: broadband, BUNDLE: bundle}}
      start_date: opened
      monthly_revenue: {column: mrr_pence, multiply: 0.01}
      churn_date: closed
  employees:
    connection: warehouse
    query: select * from hr.staff where dept <> 'facilities'
    columns:
      employee_id: emp_no
      department: dept
      team: team_code
      role: job
      base_salary: {column: salary_monthly, multiply: 12}
      hire_date: start
      leave_date: leaver
"""
(work / "postgres.yaml").write_text(postgres_sources)
parsed = load_sources(work / "postgres.yaml")
print({name: (t.connection, t.table or t.query) for name, t in parsed.tables.items()})

# %% [markdown]
# Without the environment variable, the import stops before reading anything and says what to set:

# %%
os.environ.pop("CX_WAREHOUSE_URL", None)
try:
    read_sources(work / "postgres.yaml")
except ConfigError as error:
    print(error)

# %% [markdown]
# ## 7. Use the mapping directly
#
# Every data command reads `--sources sources.yaml` in place of a data folder (`cx staffing --sources sources.yaml`,
# `cx report --sources sources.yaml --out briefing.html`), reading the tables through the mapping as `cx import`
# does. `cx validate --sources sources.yaml` validates the tables as read through the mapping without writing
# anything — useful while you are writing the mapping. In Python, `cx_framework.sources.read_sources` returns the validated
# frames; any data folder written by `cx import` opens as an `Analysis`, whose sections say which table they still
# need:

# %%
cx_cli("validate", "--sources", str(work / "sources.yaml"), "--configs", str(CONFIGS))
analysis = cx.Analysis.from_data_dir(work / "data", CONFIGS)
for section, why in analysis.unavailable().items():
    print(f"- {section}: {why}")
