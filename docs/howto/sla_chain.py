# %% [markdown]
# # Is our SLA chain consistent with the customer promise?
#
# Each department in a journey meets its own SLA; the customer experiences the sum of the stages and of the
# hand-off waits between them. This example checks the sample's journeys against their customer promises, first
# from the distributions in `slas.yaml`, then from the work items actually observed.

# %%
from pathlib import Path

import cx_framework as cx
from cx_framework.conflicts import journey_chain

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())

cfg = cx.load_config(CONFIGS)
org = cx.load_sample()
for journey in cfg.slas.journeys:
    result = journey_chain(journey)
    print(journey.name, "- customer promise:", journey.promise)
    print(result.summary(), "\n")

# %% [markdown]
# ## From observed work items
#
# `fit_stage_distributions` fits a lead-time distribution per journey and stage from `work_items`
# (entered_at → left_at); open items are excluded from the fit and counted.

# %%
fitted = cx.fit_stage_distributions(org.work_items)
fitted.head(10)
