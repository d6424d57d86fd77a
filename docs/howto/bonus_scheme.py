# %% [markdown]
# # Model a bonus scheme and compare it with today's
#
# An HR or compensation analyst wants to know what a bonus scheme pays, who wins and who loses against the scheme
# in force today, and which components pay people to hurt the customer. This example runs on the bundled sample
# organisation; replace `cx.load_sample()` with your own validated tables.

# %%
from pathlib import Path

import cx_framework as cx

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())

cfg = cx.load_config(CONFIGS)
org = cx.load_sample()
print("schemes:", ", ".join(f"{s.id} ({s.name})" for s in cfg.schemes.values()))

# %% [markdown]
# ## Payouts under today's scheme
#
# `compute_payouts` returns one row per (period, employee) with a column per component and the `payout`
# (currency, unrounded; withheld rows have a reason instead of a number).

# %%
today = cfg.schemes["siloed"]
pay = cx.compute_payouts(org.employee_metrics, org.employees, today, config=cfg)
print(f"{len(pay):,} employee-periods, total payout {pay['payout'].sum():,.0f} {cfg.economics.currency}")
pay.groupby("period")["payout"].sum().tail(3)

# %% [markdown]
# ## Edit a scheme: less weight on handle time
#
# The what-if helpers return a new, validated scheme; the original is unchanged. Weights are renormalised so they
# still sum to 1.

# %%
edited = cx.reweight(today, "aht_s", 0.10, config=cfg).model_copy(
    update={"id": "siloed_less_aht", "name": "Departmental bonuses, less weight on AHT"}
)
print({c.metric: round(c.weight, 3) for c in edited.components})

# %% [markdown]
# ## Compare with today's scheme
#
# The comparison's baseline is the first scheme given — here the scheme in force.

# %%
comparison = cx.compare_schemes(
    org.employee_metrics,
    org.employees,
    {"siloed": today, "siloed_less_aht": edited, "shared_customer": cfg.schemes["shared_customer"]},
    config=cfg,
)
comparison  # in a notebook: the annual cost of each scheme, vs today, and the share earned on customer metrics

# %% [markdown]
# ## Which components pay people to hurt the customer?
#
# A component *conflicts* with a shared KPI when pushing its metric in the rewarded direction moves the KPI the wrong
# way through the causal graph (see [Incentive conflicts](../concepts/conflicts.md)). Severity is
# |total effect| × component weight × KPI weight.

# %%
conflicts = cx.conflict_matrix({"siloed": today, "siloed_less_aht": edited}, cfg)
conflicts[conflicts["conflict"]].sort_values("severity", ascending=False).head(8)
