"""The study spec (als_eca/study/spec.py): the shipped specs validate, nam2023 states exactly the defaults the
analysis and dbt use, a wrong key or value is named with its allowed values, and the synopsis and provenance a run
records read back correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from als_eca.settings import DBT_PROJECT_DIR, REPO_ROOT
from als_eca.study.spec import DEFAULT_STUDY, StudySpecError, load_study

VARIANT = REPO_ROOT / "studies" / "caliper02_ratio2_aligned.yml"


def test_nam2023_states_exactly_the_defaults_of_the_analysis_and_of_dbt():
    import inspect

    from analytics.study import run_matched_analysis

    spec = load_study().spec
    defaults = {k: p.default for k, p in inspect.signature(run_matched_analysis).parameters.items()
                if p.default is not inspect.Parameter.empty}
    for key, value in spec.analysis_options().items():
        assert defaults[key] == (tuple(value) if isinstance(value, list) else value), key
    dbt_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    for key, value in spec.dbt_vars().items():
        assert dbt_vars[key] == value, key  # `dbt parse` (no spec) and a run with nam2023 agree
    assert spec.analyses == ("replication", "aligned") and spec.safety.meddra_version == "25.0"
    from analytics.safety import WINDOW_DAYS
    assert spec.safety.window_days == WINDOW_DAYS == spec.dbt_vars()["safety_window_days"]


def test_the_variant_changes_matching_and_analyses_only():
    base, variant = load_study().spec, load_study(VARIANT).spec
    assert (variant.matching.ratio, variant.matching.caliper, variant.analyses) == (2, 0.2, ("aligned",))
    assert variant.dbt_vars() == base.dbt_vars() and variant.id != base.id


def _write(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(DEFAULT_STUDY.read_text())
    change(doc)
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["matching"].update(method="optimal"), "matching.method: 'optimal' is not allowed; allowed: 'nearest'"),
    (lambda d: d["matching"].update(replace=True), "matching.replace: True is not allowed; allowed: False"),
    (lambda d: d.update(analyses=["replication", "naive"]), "analyses.1: 'naive' is not allowed; allowed: "
                                                            "'replication' or 'aligned'"),
    (lambda d: d["covariates"].update(propensity=["age", "weight"]), "covariates.propensity.1: 'weight' is not allowed"),
    (lambda d: d["matching"].update(ratio=0), "matching.ratio: Input should be greater than or equal to 1"),
    (lambda d: d["matching"].update(caliper=-0.1), "matching.caliper: Input should be greater than 0"),
    (lambda d: d["cohort"].update(max_disease_durations=24), "cohort.max_disease_durations: unknown key"),
    (lambda d: d.pop("safety"), "safety: missing"),
    (lambda d: d.update(id="Nam 2023"), "id: String should match pattern"),
])
def test_a_wrong_key_or_value_is_named_with_what_is_allowed(tmp_path, change, message):
    path = _write(tmp_path, change)
    with pytest.raises(StudySpecError) as error:
        load_study(path)
    assert f"{path}: {message}" in str(error.value)


def test_a_spec_that_is_not_yaml_or_not_there_is_named(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(StudySpecError, match="not valid YAML"):
        load_study(bad)
    with pytest.raises(StudySpecError, match="no such study spec"):
        load_study(tmp_path / "absent.yml")


def test_the_hash_is_of_the_file_as_written():
    import hashlib

    study = load_study()
    assert study.sha256 == hashlib.sha256(DEFAULT_STUDY.read_bytes()).hexdigest()
    assert study.provenance()["text"] == DEFAULT_STUDY.read_text()


def test_the_synopsis_reads_each_analysis_and_says_nr_and_not_requested():
    from als_eca.study.synopsis import headline_lines, synopsis_of, synopsis_rows

    doc = {"n": {"treated": 10, "control": 40}, "matching": {"pairs": [["t1", "c1"], ["t1", "c2"], ["t2", "c3"]]},
           "km": {"treated": {"n": 2, "events": 1, "median": None, "median_lower": 300.0, "median_upper": None},
                  "control": {"n": 3, "events": 2, "median": 400.0, "median_lower": 200.0, "median_upper": None}},
           "cox": {"terms": {"group_single": {"hr": 0.5, "lower": 0.25, "upper": 1.0, "p": 0.05}}},
           "logrank": {"p": 0.0004}, "rmst": {"tau": 500.0, "treated": {"estimate": 450.0},
                                             "control": {"estimate": 400.0}},
           "diagnostics": [{"name": "max_abs_smd", "value": 0.05, "passed": True},
                           {"name": "followup_parity", "value": 3.0, "passed": False}]}
    summary = synopsis_of({"aligned": doc, "replication": {"not_estimable": "not requested by the study spec (x)"}})
    s = summary["aligned"]
    assert s["pairs"] == 2 and s["median_days"] == {"treated": "NR (300-NR)", "control": "400 (200-NR)"}
    assert s["rmst_difference_days"] == 50 and s["diagnostics_failed"] == ["followup_parity"]
    rows = {r[0]: r[1:] for r in synopsis_rows(summary)}
    assert rows["measure"] == ("aligned", "replication")
    assert rows["HR BM-MSC single cycle vs control"] == ("0.50 (95 % CI 0.25-1.00)",
                                                         "not requested by the study spec (x)")
    assert rows["log-rank p"][0] == "< 0.001" and rows["HR BM-MSC multiple vs control"][0] == "not estimable"
    lines = headline_lines(summary, {"passed": 5, "warned": 1, "failed": 0}, Path("r.html"), "s1", synthetic=True)
    assert 6 <= len(lines) <= 12 and "SYNTHETIC" in lines[0]
    assert lines[-2:] == ["checks       5 passed, 1 warned, 0 failed", "report       r.html"]
    # an up-to-date run evaluated no checks: no checks line rather than zeros
    assert not [line for line in headline_lines(summary, None, None, "s1", False) if line.startswith("checks")]


def test_provenance_finds_the_generators_marker_and_the_export_date(tmp_path):
    from als_eca.provenance import code_version, pms_export, synthetic_marker

    (tmp_path / "proact").mkdir()
    assert synthetic_marker(tmp_path / "proact") is None
    (tmp_path / "generation.json").write_text(json.dumps({"synthetic": True, "seed": 7, "truth": {"x": 1}}))
    marker = synthetic_marker(tmp_path / "proact")
    assert marker["seed"] == 7 and "truth" not in marker
    export = tmp_path / "pms" / "pms_export_2022-06-30"
    export.mkdir(parents=True)
    inputs = [{"source_table": "pms_dm", "path": str(export / "dm.csv")},
              {"source_table": "proact_alsfrs", "path": "/x/PROACT_ALSFRS.csv"}]
    assert pms_export(inputs)["export_date"] == "2022-06-30"
    (export / "manifest.json").write_text(json.dumps({"export_date": "2022-07-01"}))
    assert pms_export(inputs)["export_date"] == "2022-07-01"  # the manifest's word over the folder name
    assert pms_export([])["export_date"] is None
    code = code_version()
    assert len(code["commit"]) == 40 or code["commit"].startswith("unknown")
