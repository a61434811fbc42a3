"""When the graph runs on its own: a daily refresh of everything."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import refresh_all

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_all,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Materialise the whole graph every morning (raw → marts → analysis → report).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

schedules = [daily_refresh]
