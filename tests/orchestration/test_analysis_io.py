"""The analysis assets' IO manager: every part of a step's output round-trips through the analysis store under its
human-readable file name, "not estimable" travels with the output, and the analysis assets get what they use from
upstream as inputs (no hand-read files)."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from als_eca.study.store import StepOutput
from orchestration.analysis_io import analysis_io_manager
from orchestration.resources import WarehouseResource


@pytest.fixture()
def io_manager(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    return analysis_io_manager(dg.build_init_resource_context(resources={"warehouse": warehouse}))


def _save_and_load(io_manager, name: str, out: StepOutput) -> StepOutput:
    key = dg.AssetKey(["analysis", name])
    io_manager.handle_output(dg.build_output_context(asset_key=key), out)
    return io_manager.load_input(dg.build_input_context(asset_key=key))


def test_every_part_of_a_step_output_round_trips_under_its_file_name(io_manager, tmp_path):
    table = pd.DataFrame({"subject_id": ["a", "b"], "ps": [0.25, np.nan], "matched": [True, False]})
    png = b"\x89PNG\r\n\x1a\n-not-really-a-picture"
    out = StepOutput({"n": 2, "p": np.float64(0.5), "missing": np.nan}, {"scores": table}, {"plot": png},
                     documents={"results": {"n": {"treated": 1}}}, objects={"study_result": {"any": ("python", 1)}})

    loaded = _save_and_load(io_manager, "matched_cohort", out)

    store = tmp_path / "analysis"  # next to the warehouse, from the warehouse resource
    assert json.loads((store / "matched_cohort.json").read_text()) == {"n": 2, "p": 0.5, "missing": None}
    assert loaded.numbers == {"n": 2, "p": 0.5, "missing": None}  # strict JSON: NaN is null
    pd.testing.assert_frame_equal(pd.read_parquet(store / "scores.parquet"), table)
    pd.testing.assert_frame_equal(loaded.tables["scores"], table)
    assert (store / "plot.png").read_bytes() == png and loaded.figures == {"plot": png}
    assert json.loads((store / "results.json").read_text()) == {"n": {"treated": 1}}
    assert loaded.documents == {"results": {"n": {"treated": 1}}}
    assert (store / "study_result.pkl").exists() and loaded.objects == {"study_result": {"any": ("python", 1)}}
    assert loaded.not_estimable is None


def test_a_load_returns_only_the_files_of_the_latest_output(io_manager, tmp_path):
    frame = pd.DataFrame({"x": [1]})
    _save_and_load(io_manager, "survival", StepOutput({"a": 1}, {"km_summary": frame, "pairwise_logrank": frame}))
    again = _save_and_load(io_manager, "survival", StepOutput({"a": 2}, {"km_summary": frame}))
    assert (tmp_path / "analysis" / "pairwise_logrank.parquet").exists()  # left by the first output ...
    assert list(again.tables) == ["km_summary"] and again.numbers == {"a": 2}  # ... but not part of the second


def test_not_estimable_travels_with_the_output_to_the_steps_after_it(io_manager, tmp_path):
    from als_eca.study.steps import guarded

    reason = "ValueError: too few events (on 3 treated and 11 controls)"
    upstream = _save_and_load(io_manager, "propensity_scores", StepOutput.not_estimable_because(reason))
    assert json.loads((tmp_path / "analysis" / "propensity_scores.json").read_text()) == {"not_estimable": reason}
    assert upstream.not_estimable == reason

    def must_not_run() -> StepOutput:
        raise AssertionError("a step whose input is not estimable does not run")

    downstream = guarded(must_not_run, needs={"propensity_scores": upstream})
    assert downstream.not_estimable == f"propensity_scores not estimable ({reason})"
    assert _save_and_load(io_manager, "matched_cohort", downstream).not_estimable == downstream.not_estimable


def test_a_cohort_that_cannot_support_an_estimate_gives_a_reason_not_an_error():
    from als_eca.study.steps import guarded

    def singular() -> StepOutput:
        raise np.linalg.LinAlgError("Singular matrix")

    assert guarded(singular, context="1 treated").not_estimable == "LinAlgError: Singular matrix (on 1 treated)"
    with pytest.raises(KeyError):  # a bug is not "not estimable"
        guarded(lambda: {}["missing"])


def test_a_part_another_step_owns_is_refused_not_overwritten(io_manager, tmp_path):
    """The parts share one folder under their own names: the aligned analysis once overwrote the cohort flow's
    table and the report showed the wrong Figure 1."""
    flow = pd.DataFrame({"step": ["eligible"], "patients": [1200]})
    _save_and_load(io_manager, "cohort_flow", StepOutput({"n": 1}, {"cohort_flow": flow}))
    clash = StepOutput({"n": 2}, {"cohort_flow": flow.assign(patients=1073)})
    with pytest.raises(ValueError, match="would overwrite cohort_flow of step 'cohort_flow'"):
        _save_and_load(io_manager, "aligned_analysis", clash)
    with pytest.raises(ValueError, match="would overwrite"):  # a document named like another step's numbers
        _save_and_load(io_manager, "falsification", StepOutput({}, documents={"cohort_flow": {"n": 9}}))
    # (the same name in another kind of part is another file: cohort_flow.png beside cohort_flow.parquet)
    _save_and_load(io_manager, "aligned_analysis", StepOutput({}, figures={"cohort_flow": b"png"}))
    assert _save_and_load(io_manager, "cohort_flow", StepOutput({"n": 3}, {"cohort_flow": flow})).numbers == {"n": 3}
    assert pd.read_parquet(tmp_path / "analysis" / "cohort_flow.parquet")["patients"].tolist() == [1200]


def test_analysis_assets_receive_upstream_analysis_results_as_inputs_through_the_io_manager():
    from orchestration.analysis import analysis_assets, analysis_checks
    from orchestration.analysis_io import ANALYSIS_IO_MANAGER

    for asset in analysis_assets:
        ins = {name: key for name, key in asset.keys_by_input_name.items() if key.path[0] == "analysis"}
        # a value loaded for the function, never a bare ordering dependency (Dagster's "Nothing" input)
        assert not [name for name in ins if asset.op.ins[name].dagster_type.is_nothing], asset.key
        if asset.key.path[-1] != "study_report":  # (the report is an HTML file, not a step output)
            assert asset.get_io_manager_key_for_asset_key(asset.key) == ANALYSIS_IO_MANAGER
    report = next(a for a in analysis_assets if a.key.path[-1] == "study_report")
    assert {k.path[-1] for k in report.keys_by_input_name.values()} == {
        "provenance", "cohort_flow", "aligned_analysis", "falsification", "propensity_scores", "matched_cohort", "balance", "survival", "cox_model",
        "progression", "sensitivity", "safety_tables"}
    published = next(c for c in analysis_checks if c.check_key.name == "matched_on_the_published_scores")
    assert dg.AssetKey(["analysis", "propensity_scores"]) in set(published.keys_by_input_name.values())
