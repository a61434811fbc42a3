"""Great Expectations suites (expectations/) as Dagster asset checks, one check per suite."""

from __future__ import annotations

import dagster as dg

from expectations.suites import SUITES, Suite
from orchestration.markdown import md_table
from orchestration.resources import WarehouseResource


def warm_up_gx() -> None:
    """Start the GX worker process (expectations.validate), which imports Great Expectations (~3 s of CPU) on the
    other core while the raw loads run; the raw tables' suites follow them."""
    from expectations.validate import start

    start()


def _gx_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(list(suite.asset_key)),
        name=suite.name,
        description=suite.description,
        blocking=suite.blocking,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        from expectations.validate import validate

        with warehouse.connect() as con:
            outcome = validate(suite, con)
        failed = outcome.failed()
        table = md_table(["expectation", "column", "unexpected", "sample / observed"],
                         [(o.expectation, o.column, o.unexpected_count, o.unexpected_sample or o.observed_value)
                          for o in failed], empty="all expectations met")
        return dg.AssetCheckResult(
            passed=outcome.success,
            # A blocking suite guards the analysis: its failure is an error; the others are warnings to look at.
            severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_validated": outcome.rows,
                "expectations": len(outcome.outcomes),
                "failed_expectations": len(failed),
                "failures": table,
            },
        )

    return _check


gx_checks = [_gx_check(s) for s in SUITES]
