"""Great Expectations suites over the marts, run as Dagster asset checks (GX imported lazily)."""
