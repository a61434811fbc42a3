"""Dagster only: the assets, checks, resources, IO manager, schedule and sensor of the pipeline, the in-process
runner behind `als-eca run` and the run fingerprint."""
