"""The named jobs the schedule, the sensor and `als-eca run` launch: everything, or only what a new PMS export
changes."""

from __future__ import annotations

import dagster as dg

#: What depends on the PMS export: its raw tables and everything downstream (PMS staging and intermediate models,
#: the models that join both sources, the marts, the analysis, the report and the snapshot). PRO-ACT's raw tables,
#: its staging views and the models built from PRO-ACT alone are left as they are.
PMS_BRANCH = dg.AssetSelection.groups("raw_pms").downstream()

refresh_all = dg.define_asset_job(
    "refresh_all", selection=dg.AssetSelection.all(),
    description="Everything, from the source files to the report and the analysts' snapshot.")
refresh_pms = dg.define_asset_job(
    "refresh_pms", selection=PMS_BRANCH,
    description="A new PMS export: what depends on the PMS data (PRO-ACT's raw tables and the models built from "
                "PRO-ACT alone are not rebuilt).")

jobs = [refresh_all, refresh_pms]
