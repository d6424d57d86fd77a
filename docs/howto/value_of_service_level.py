# %% [markdown]
# # What is one point of service level worth?
#
# Service level (the share of calls answered within 20 s) costs money in staff and earns money in customers who
# stay. This example fits the service level → churn model on the sample's customer panel, values one point of
# service level, and finds the profit-maximising service-level target with its uncertainty.

# %%
from pathlib import Path

import cx_framework as cx

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())

cfg = cx.load_config(CONFIGS)
org = cx.load_sample()
panel = cx.build_customer_panel(org.contacts, org.customers)
print(f"{len(panel):,} customer-months, {panel['customer_id'].nunique():,} customers")

# %% [markdown]
# ## Service level → next-month churn
#
# A discrete-time logit on customer-months with at least one call, customer-clustered standard errors (see
# [Service level and retention](../concepts/retention.md)).

# %%
retention = cx.fit_retention(panel)
print(retention.explain())
retention.params

# %% [markdown]
# ## One point of service level in money
#
# The planted truth of the sample is a log-odds effect of −2.0 per unit of service level: the estimate above
# should contain it in its confidence interval.

# %%
cx.value_of_service_level(retention, org.customers, cfg, points=1.0)

# %% [markdown]
# ## The profit-maximising target
#
# Each target is staffed with Erlang C on the last complete months of intervals and costed; retained value comes
# from the model. 200 parameter draws give the interval.

# %%
optimum = cx.optimal_service_level(org.intervals, retention, org.customers, cfg, n_draws=200)
print(
    f"profit-maximising service level {optimum.optimum:.0%} "
    f"(95 % interval {optimum.optimum_lower:.0%} to {optimum.optimum_upper:.0%}); "
    f"net gain against the {optimum.convention:.0%} convention: {optimum.net_gain_vs_convention:,.0f} "
    f"{optimum.currency} over {optimum.horizon_months:.0f} months"
)
