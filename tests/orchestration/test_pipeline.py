"""The whole asset graph, in-process, on a generated dataset (scale 0.25): what `als-eca run` / `make demo` do."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from als_eca import privacy
from als_eca.ingest.schemas import ALL_TABLES
from tests.conftest import MEDIUM_SCALE as PIPELINE_SCALE

pytestmark = pytest.mark.xdist_group("pipeline")


@pytest.fixture(scope="module")
def pipeline_data(medium_data, tmp_path_factory):
    """The generated data in the shape of a real download: 11 of the 16 PRO-ACT forms (as in the one we measured),
    exact duplicate lines in DEMOGRAPHICS and ALSFRS, and a newest PMS export without pr.csv (none in its manifest:
    no procedure was recorded). The generator already puts subjects outside TREATMENT into the other files."""
    import shutil

    root = tmp_path_factory.mktemp("real_layout")
    shutil.copytree(medium_data / "proact", root / "proact")
    shutil.copytree(medium_data / "pms", root / "pms")
    for form in ("ADVERSEEVENTS", "CONMEDS", "LABS", "MUSCLESTRENGTH", "VITALSIGNS"):
        (root / "proact" / f"PROACT_{form}.csv").unlink()
    for form in ("DEMOGRAPHICS", "ALSFRS"):
        path = root / "proact" / f"PROACT_{form}.csv"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join([*lines[:10], lines[7], *lines[10:], lines[3]]))
    export = sorted((root / "pms").iterdir())[-1]
    (export / "pr.csv").unlink()
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"].pop("pr.csv")
    (export / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def pipeline_run(pipeline_data, tmp_path_factory):
    from orchestration.run import run_pipeline

    warehouse = tmp_path_factory.mktemp("pipeline") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        summary = run_pipeline(proact=pipeline_data / "proact", pms=pipeline_data / "pms", warehouse=warehouse,
                               log_level="WARNING")
    return summary


def test_the_whole_graph_succeeds_with_every_check_green(pipeline_run):
    assert pipeline_run.success, pipeline_run.failure
    # Data findings (WARN) can appear on a small sample; nothing that guards the analysis (ERROR) may fail.
    assert [c for c in pipeline_run.failed_checks if not c.endswith("(WARN)")] == []
    assert {f"raw/{t.table}" for t in ALL_TABLES} <= set(pipeline_run.materialised)
    assert "raw/pms_delivery_comparison" in pipeline_run.materialised


def test_each_cohort_flow_counts_its_own_analysis(pipeline_run):
    """Figure 1 counts the paper's cohort and the aligned flow the aligned one (their tables once shared a file
    name, and the report showed the aligned flow as Figure 1)."""
    import pandas as pd

    store = pipeline_run.warehouse.parent / "analysis"
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        expected = dict(con.execute("SELECT 'replication', count(*) FILTER (WHERE eligible) FROM "
                                    "marts.mart_survival_cohort UNION ALL SELECT 'aligned', count(*) FILTER "
                                    "(WHERE aligned_eligible) FROM marts.mart_survival_cohort").fetchall())
    for analysis, table in (("replication", "cohort_flow"), ("aligned", "aligned_cohort_flow")):
        flow = pd.read_parquet(store / f"{table}.parquet")
        assert flow.loc[flow["step"] == "eligible", "patients"].sum() == expected[analysis], analysis


def test_every_file_is_reconciled(pipeline_run):
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        rows = con.execute("SELECT source_table, rows_read, rows_loaded, rows_quarantined FROM raw.load_audit").fetchall()
        duplicates = dict(con.execute("SELECT source_table, count(*) FROM raw.quarantine "
                                      "WHERE reason LIKE 'exact duplicate of line %' GROUP BY 1").fetchall())
        absent = {t for (t,) in con.execute("SELECT source_table FROM raw.load_audit WHERE file IS NULL").fetchall()}
    assert len(rows) == len(ALL_TABLES)
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in rows)
    assert duplicates.get("proact_demographics", 0) >= 2 and duplicates.get("proact_alsfrs", 0) >= 2
    assert absent == {"proact_adverseevents", "proact_conmeds", "proact_labs", "proact_musclestrength",
                      "proact_vitalsigns", "pms_pr"}


def test_no_table_or_view_holds_a_direct_identifier(pipeline_run):
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        assert privacy.scan(con) == []


def _snapshot(pipeline_run) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(pipeline_run.snapshot), read_only=True)


def readme_analyst_queries() -> list[str]:
    """The sql blocks of the README's analyst section, between its `analyst-queries` markers."""
    import re

    from als_eca.settings import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("<!-- analyst-queries")[1].split("<!-- /analyst-queries -->")[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_analyst_queries_run_as_written_on_the_snapshot(pipeline_run):
    queries = readme_analyst_queries()
    assert len(queries) == 5
    with _snapshot(pipeline_run) as con:
        for query in queries:
            assert con.execute(query).fetchall(), query


def test_every_mart_and_column_of_the_snapshot_carries_its_dbt_description(pipeline_run):
    with _snapshot(pipeline_run) as con:
        marts = con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        views = con.execute("SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'main' "
                            "AND NOT internal").fetchall()
        undocumented = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE "
                                   "schema_name IN ('marts', 'main') AND NOT internal AND comment IS NULL").fetchall()
        dim_patient = con.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' AND "
                                  "table_name = 'dim_patient' AND column_name = 'subject_id'").fetchone()[0]
        # the unqualified name is the mart (a view in main, the client's default schema)
        assert con.execute("SELECT count(*) FROM dim_patient").fetchone() == \
            con.execute("SELECT count(*) FROM marts.dim_patient").fetchone()
    assert {t for t, _ in marts} == {"dim_patient", "fct_visit", "fct_treatment", "fct_adverse_event",
                                     "mart_survival_cohort", "fct_fvc"}
    assert all(comment for _, comment in marts)
    assert {v for v, _ in views} == {t for t, _ in marts} and all(comment for _, comment in views)
    assert undocumented == []
    assert dim_patient == "PRO-ACT subject id as text, or the PMS pseudonym (PMS-<hex>)."  # (dbt's own text)


def test_the_snapshot_publishes_every_analysis_table_and_what_built_it(pipeline_run):
    from als_eca.publish import ANALYSIS_TABLES, NOT_PUBLISHED

    store = pipeline_run.warehouse.parent / "analysis"
    made = {(listing.name.removesuffix(".files.json"), part) for listing in store.glob("*.files.json")
            for part in json.loads(listing.read_text())["tables"]}
    catalog = {(t.step, t.part): t.name for t in ANALYSIS_TABLES}
    # every table a step makes is published or left out for a stated reason (a new one needs a decision)
    assert made - set(NOT_PUBLISHED) == set(catalog)
    provenance = json.loads((store / "provenance.json").read_text())
    with _snapshot(pipeline_run) as con:
        published = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() "
                                     "WHERE schema_name = 'analysis'").fetchall())
        steps = dict(con.execute("SELECT step, status FROM analysis.steps").fetchall())
        info = con.execute("SELECT run_id, analysis_run_id, code_commit, study_id, study_spec_sha256, "
                           "CAST(pms_export_date AS VARCHAR), synthetic, input_files FROM snapshot_info").fetchall()
        inputs = dict(con.execute("SELECT source_table, sha256 FROM snapshot_inputs").fetchall())
        km_rows = con.execute("SELECT count(*) FROM analysis.km_summary").fetchone()[0]
    assert set(published) == {*catalog.values(), "steps"}
    assert all(f"analysis step `{t.step}`" in published[t.name] for t in ANALYSIS_TABLES)
    assert set(steps.values()) == {"estimated"} and "provenance" not in steps
    assert km_rows == len(pd.read_parquet(store / "km_summary.parquet"))
    assert info == [(provenance["run_id"], provenance["run_id"], provenance["code"]["commit"], "nam2023",
                     provenance["study"]["sha256"], provenance["pms_export"]["export_date"],
                     provenance["synthetic"] is not None,
                     sum(1 for i in provenance["inputs"] if i["sha256"]))]
    assert inputs == {i["source_table"]: i["sha256"] for i in provenance["inputs"]}


def test_the_published_snapshot_holds_no_direct_identifier(pipeline_run):
    """The analysis tables carry the marts' pseudonymous ids only (treated_id: PMS-<hex>)."""
    with _snapshot(pipeline_run) as con:
        assert privacy.scan(con) == []
        treated = con.execute("SELECT DISTINCT left(treated_id, 4) FROM analysis.matched_pairs").fetchall()
    assert treated == [("PMS-",)]


def test_the_duckdb_shell_opens_the_snapshot_and_the_warehouse_read_only(pipeline_run):
    """`make sql` and `make sql-warehouse`: the pinned CLI reads both files' storage format, without a warning;
    a dbt check's failing-rows SQL (database-qualified, as dbt compiles it) runs on the warehouse as it is."""
    import subprocess
    import sys

    cli = Path(sys.executable).with_name("duckdb")
    for database, query in ((pipeline_run.snapshot, "SELECT count(*) FROM dim_patient"),
                            (pipeline_run.warehouse, 'SELECT count(*) FROM "warehouse"."marts"."dim_patient"')):
        done = subprocess.run([str(cli), "-readonly", "-csv", "-noheader", str(database), "-c", query],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert int(done.stdout) > 0


def test_the_identifier_scan_finds_planted_identifiers(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.t AS SELECT 'PMS-0a1b' AS subject_id, 'KJH' AS patinit, 1990 AS birth_year")
        con.execute("CREATE VIEW marts.v AS SELECT 'see NR-PMS-101-0042' AS note")
        found = {(f.table, f.column, f.what) for f in privacy.scan(con)}
    assert found == {("marts.t", "patinit", "identifier column"), ("marts.v", "note", "original PMS subject id")}


def _table_digests(path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content digest of every mart."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        return {
            t: con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(md5(CAST(x AS VARCHAR)), '' ORDER BY md5(CAST(x AS VARCHAR))), ''))"
                f" FROM marts.{t} AS x"
            ).fetchone()
            for t in tables
        }


def test_marts_are_built_and_the_cohort_flow_matches_the_generator_measurement(pipeline_run, pipeline_data):
    from synthetic.measure import measure

    figures = {f.name: f.generated for f in measure(pipeline_data, scale=PIPELINE_SCALE)}
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        marts = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
        assert {"dim_patient", "fct_visit", "fct_treatment", "fct_adverse_event", "mart_survival_cohort"} <= marts
        # The paper's criteria (everything but data completeness) select what an independent pandas reading of the
        # files selects.
        paper_criteria = dict(con.execute(
            """SELECT source, count(*) FROM marts.mart_survival_cohort
               WHERE eligible OR exclusion_reason IN (
                   SELECT exclusion_reason FROM reference.cohort_exclusion_steps
                   WHERE criterion IN ('crit_followup_known', 'crit_covariates_complete'))
               GROUP BY source""").fetchall())
        flow = con.execute(
            "SELECT source, coalesce(exclusion_reason, 'eligible'), count(*) FROM marts.mart_survival_cohort "
            "GROUP BY ALL").fetchall()
    assert paper_criteria["PRO-ACT"] == figures["PRO-ACT eligible controls"]
    assert paper_criteria["PMS"] == figures["PMS eligible"]
    assert sum(n for s, _, n in flow if s == "PMS") == figures["PMS patients"]


def test_dbt_tests_ran_as_asset_checks(pipeline_run):
    # Every dbt test and GX suite is an asset check of the run; none failed (see the first test).
    assert pipeline_run.checks_evaluated >= 150


def test_a_second_run_on_unchanged_input_gives_identical_marts(pipeline_run, pipeline_data):
    from orchestration.run import run_pipeline

    before = _table_digests(pipeline_run.warehouse)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        again = run_pipeline(proact=pipeline_data / "proact", pms=pipeline_data / "pms",
                             warehouse=pipeline_run.warehouse, log_level="WARNING")
    assert again.success, again.failure
    assert _table_digests(pipeline_run.warehouse) == before
    # Nothing in the project changed, nothing re-parsed: dbt ran on the project this process parsed for the first
    # run (orchestration/dbt_runner.py keeps it), or else started from this warehouse's saved parse state.
    from als_eca.settings import DBT_PROJECT_DIR

    (log,) = (DBT_PROJECT_DIR / "target").glob(f"dbt_warehouse-{again.run_id[:7]}-*/dbt.log")
    text = log.read_text()
    assert "Starting full parse" not in text and "Unable to do partial parsing" not in text
    assert "no changes found, skipping parsing" in text or "Partial parsing enabled" not in text


def test_the_study_report_is_self_contained_and_mirrors_the_paper(pipeline_run):
    html = pipeline_run.report.read_text()
    for title in ("Cohort flow", "Baseline characteristics", "Overall survival", "Cox proportional hazards",
                  "progression speed", "Sensitivity analyses", "Safety"):
        assert title in html
    assert html.count("data:image/png;base64,") >= 6
    assert html.count("<td>active vs placebo</td>") == 2  # the falsification under both analyses' rules
    assert 'src="http' not in html and "<link" not in html and "<script" not in html


def test_cafs_ranks_the_whole_matched_set_with_the_12_month_change(pipeline_run):
    """The progression step's CAFS is analytics.cafs on the matched set (time, event, arm) and the step's own
    12-month ALSFRS-R changes, NaN for matched patients without one; the report shows it."""
    import pandas as pd

    from analytics.cafs import cafs_test

    store = pipeline_run.warehouse.parent / "analysis"
    matched = pd.read_parquet(store / "matched_cohort.parquet")
    change = pd.read_parquet(store / "alsfrs_change.parquet").set_index("subject_id")["change"]
    expected = cafs_test(matched["time_days"].to_numpy(float), matched["event"].to_numpy(int),
                         matched["subject_id"].map(change).to_numpy(float), matched["treated"].to_numpy(int))
    numbers = json.loads((store / "progression.json").read_text())["cafs"]
    assert numbers["n_treated"] + numbers["n_control"] == len(matched)
    assert numbers["n_change_missing"] == len(matched) - matched["subject_id"].isin(change.index).sum()
    assert numbers["fs_statistic"] == expected.fs_statistic and numbers["fs_p"] == pytest.approx(expected.fs_p)
    table = pd.read_parquet(store / "cafs.parquet")
    assert len(table) == 1 and table.iloc[0]["win_probability"] == pytest.approx(expected.win_probability)
    assert "CAFS (combined assessment of function and survival" in pipeline_run.report.read_text()


def test_the_analysis_assets_equal_als_eca_analyze_on_the_exported_cohort(pipeline_run, tmp_path):
    import pandas as pd

    from als_eca.study.analyze import analyze_cohort_file

    cohort_csv = tmp_path / "cohort.csv"
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        con.execute(f"COPY (SELECT * FROM marts.mart_survival_cohort ORDER BY subject_id) TO '{cohort_csv}' (HEADER)")
    analyze_cohort_file(cohort_csv, tmp_path / "out")
    assets = pipeline_run.warehouse.parent / "analysis"
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert written == {"results.json", "km_matched.png", "love_plot.png", "ps_overlap.png", "cox_forest.png",
                       "sensitivity.json", "sensitivity.parquet", "sensitivity.files.json"}
    assert written <= {p.name for p in assets.iterdir()}  # the same files as the assets', under the same names
    from_assets = json.loads((assets / "results.json").read_text())
    from_command = json.loads((tmp_path / "out" / "results.json").read_text())
    # the same numbers; the provenance says how each was made (a run's inputs, the command's cohort file)
    assert from_command.pop("provenance")["command"] == "als-eca analyze" and from_assets.pop("provenance")["run_id"]
    assert from_command == from_assets
    assert len(from_assets["matching"]["pairs"]) > 0
    sensitivity = json.loads((assets / "sensitivity.json").read_text())
    assert json.loads((tmp_path / "out" / "sensitivity.json").read_text()) == sensitivity
    assert "control deaths counted only within ALSFRS follow-up" in {r["analysis"] for r in sensitivity["analyses"]}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "sensitivity.parquet"),
                                  pd.read_parquet(assets / "sensitivity.parquet"))
    for figure in ("km_matched.png", "love_plot.png", "ps_overlap.png", "cox_forest.png"):  # one figure builder
        assert (tmp_path / "out" / figure).read_bytes() == (assets / figure).read_bytes(), figure


def test_the_generator_measures_the_matched_outcome_the_pipeline_reports(pipeline_run, pipeline_data):
    """`als-eca calibration` computes the matched outcome from the files (synthetic.measure.analysis_cohort, an
    independent pandas reading of the paper's rules, then the study's analysis): the figures of the pipeline's
    results.json."""
    from synthetic.measure import matched_outcome

    computed = matched_outcome(pipeline_data, scale=PIPELINE_SCALE)
    reported = matched_outcome(results=pipeline_run.warehouse.parent / "analysis" / "results.json",
                               scale=PIPELINE_SCALE)
    # (the RMST differs by design: the calibration takes the paper's tau - survRM2's default, the shorter arm's last
    # follow-up - the pipeline its stated horizon, the last time with 10 at risk in both arms)
    computed, reported = ([f for f in figures if not f.name.startswith("RMST")] for figures in (computed, reported))
    assert [f.name for f in computed] == [f.name for f in reported]
    for a, b in zip(computed, reported, strict=True):
        assert (a.generated is None and b.generated is None) or a.generated == pytest.approx(b.generated), a.name
    assert sum(f.generated is not None for f in computed) >= 5


def test_the_sensor_takes_an_up_to_date_warehouse_as_its_baseline(pipeline_run, pipeline_data):
    # (before the next test, which touches a source file)
    import dagster as dg

    from orchestration.resources import SourcesResource, WarehouseResource
    from orchestration.sensors import new_source_data

    context = dg.build_sensor_context(resources={
        "sources": SourcesResource(proact_dir=str(pipeline_data / "proact"), pms_dir=str(pipeline_data / "pms")),
        "warehouse": WarehouseResource(path=str(pipeline_run.warehouse))})
    results = list(new_source_data(context))
    assert len(results) == 1 and isinstance(results[0], dg.SkipReason), results
    assert "baseline" in results[0].skip_message
    assert json.loads(context.cursor)["pms"]  # the files' prints: changes are seen from here on


def test_a_run_with_nothing_changed_is_skipped_and_only_a_changed_file_is_noticed(pipeline_run, pipeline_data):
    """Touching a file is not a change (the same content fingerprint as the sensor's); changing its content is."""
    from als_eca.settings import get_settings
    from orchestration.run import run_pipeline
    from orchestration.run_state import up_to_date

    paths = {"proact": pipeline_data / "proact", "pms": pipeline_data / "pms", "warehouse": pipeline_run.warehouse}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        skipped = run_pipeline(**paths, force=False)
        assert skipped.up_to_date and skipped.success and skipped.materialised == []
        settings = get_settings(**paths)
        assert up_to_date(settings)
        treatment = pipeline_data / "proact" / "PROACT_TREATMENT.csv"
        stat = treatment.stat()
        os.utime(treatment, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert up_to_date(settings)
        original = treatment.read_bytes()
        treatment.write_bytes(original + original[original.rindex(b"\n", 0, -1) + 1:])  # one record more
        try:
            assert up_to_date(settings) is None
        finally:
            treatment.write_bytes(original)
        assert up_to_date(settings)


def test_a_run_that_fails_midway_is_never_up_to_date(pipeline_run, pipeline_data):
    """A forced run that rebuilds PRO-ACT and then fails on the PMS export leaves no "up to date" record; with the
    same files back, the next plain run rebuilds instead of skipping over a half-built warehouse."""
    from orchestration.run import run_pipeline

    export = sorted((pipeline_data / "pms").iterdir())[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        args = {"proact": pipeline_data / "proact", "pms": pipeline_data / "pms", "warehouse": pipeline_run.warehouse}
        assert run_pipeline(**args, force=False).up_to_date
        (export / "dm.csv").rename(export / "dm.csv.away")  # a half-copied export: the manifest lists dm.csv
        try:
            failed = run_pipeline(**args, force=True)
        finally:
            (export / "dm.csv.away").rename(export / "dm.csv")  # (rename keeps the modification time)
        assert not failed.success and "dm.csv" in failed.failure and "listed in manifest.json" in failed.failure
        again = run_pipeline(**args, force=False)
        assert not again.up_to_date and again.success and again.materialised


def test_a_new_pms_export_rebuilds_only_the_pms_branch_and_gives_the_full_runs_marts(pipeline_run, pipeline_data):
    """Only the PMS exports changed since the last successful run: `als-eca run` launches refresh_pms, which
    leaves PRO-ACT's raw tables and staging views as they are; its marts equal a full run's on the same files."""
    from orchestration.run import run_pipeline

    full = _table_digests(pipeline_run.warehouse)  # (the previous test ended with a full run on these files)
    export = sorted((pipeline_data / "pms").iterdir())[-1]
    held = pipeline_data / f"held-{export.name}"
    args = {"proact": pipeline_data / "proact", "pms": pipeline_data / "pms", "warehouse": pipeline_run.warehouse}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        export.rename(held)  # the earlier data cut: the newest export not yet delivered
        try:
            earlier = run_pipeline(**args, force=False)
        finally:
            held.rename(export)
        assert earlier.success and earlier.job == "refresh_pms", earlier.failure
        assert not [k for k in earlier.materialised if k.startswith(("raw/proact", "staging/stg_proact"))]
        assert {"raw/pms_dm", "staging/stg_pms__dm", "marts/dim_patient", "analysis/study_report"} <= set(
            earlier.materialised)
        assert _table_digests(pipeline_run.warehouse) != full  # the earlier cut has other PMS data
        delivered = run_pipeline(**args, force=False)
    assert delivered.success and delivered.job == "refresh_pms", delivered.failure
    assert _table_digests(pipeline_run.warehouse) == full


@pytest.mark.parametrize("cohort", ["3 treated and 11 controls", "one patient per injection group"])
def test_a_cohort_too_small_for_a_model_gives_not_estimable_results_not_a_crash(pipeline_run, tmp_path, cohort):
    """Every analysis step either estimates or records why it cannot; the run succeeds with warnings."""
    import shutil

    import dagster as dg

    from als_eca.study.spec import DEFAULT_STUDY
    from orchestration.analysis import ESTIMATED_STEPS, analysis_assets, analysis_checks
    from orchestration.analysis_io import ANALYSIS_IO_MANAGER, analysis_io_manager
    from orchestration.resources import SourcesResource, StudyResource, WarehouseResource

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        if cohort == "3 treated and 11 controls":
            keep = """(SELECT subject_id FROM marts.mart_survival_cohort WHERE eligible AND treated = 1 ORDER BY subject_id
                       LIMIT 3) UNION ALL (SELECT subject_id FROM marts.mart_survival_cohort WHERE eligible
                       AND treated = 0 ORDER BY subject_id LIMIT 11)"""
        else:  # the multiple-injection group reduced to one patient
            keep = """(SELECT subject_id FROM marts.mart_survival_cohort WHERE eligible AND "group" = 'multiple'
                       ORDER BY subject_id LIMIT 1) UNION ALL (SELECT subject_id FROM marts.mart_survival_cohort
                       WHERE eligible AND coalesce("group", '') <> 'multiple')"""
        con.execute(f"UPDATE marts.mart_survival_cohort SET eligible = false WHERE subject_id NOT IN ({keep})")
    result = dg.materialize([*analysis_assets, *analysis_checks],
                            resources={"warehouse": WarehouseResource(path=str(warehouse)),
                                       "sources": SourcesResource(proact_dir=str(tmp_path), pms_dir=str(tmp_path)),
                                       "study": StudyResource(path=str(DEFAULT_STUDY)),
                                       ANALYSIS_IO_MANAGER: analysis_io_manager},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    store = tmp_path / "analysis"
    reasons = {}
    for name in ESTIMATED_STEPS:
        numbers = json.loads((store / f"{name}.json").read_text())
        if "not_estimable" in numbers:
            reasons[name] = numbers["not_estimable"]
    assert reasons, "a degenerate cohort leaves something not estimable"
    if cohort == "3 treated and 11 controls":
        assert "3 treated and 11 controls" in reasons["propensity_scores"]
    warned = {e.asset_key.path[-1] for e in result.get_asset_check_evaluations()
              if e.check_name == "estimable" and not e.passed}
    assert warned == set(reasons)
    results = json.loads((store / "results.json").read_text())
    if "matched_cohort" in reasons:
        assert results == {"not_estimable": reasons["matched_cohort"]}
    html = (tmp_path / "report" / "study_report.html").read_text()
    assert "Not estimable on this cohort" in html


def test_the_identifier_scan_runs_as_blocking_checks_on_every_mart_and_the_snapshot(pipeline_run):
    from orchestration.definitions import build_definitions

    specs = [s for c in build_definitions().asset_checks for s in c.check_specs if s.name == "no_direct_identifiers"]
    assert {s.asset_key.to_user_string() for s in specs} >= {"marts/dim_patient", "marts/mart_survival_cohort",
                                                              "publish/analyst_snapshot"}
    assert all(s.blocking for s in specs)
    assert not [c for c in pipeline_run.failed_checks if "no_direct_identifiers" in c]


def test_the_run_records_its_provenance_and_keeps_its_report_under_its_run_id(pipeline_run, pipeline_data):
    analysis = pipeline_run.warehouse.parent / "analysis"
    record = json.loads((analysis / "results.json").read_text())["provenance"]
    report_dir = pipeline_run.warehouse.parent / "report"
    # (other tests rerun this warehouse: the results are the latest run's, whose report `latest` points at)
    assert record["run_id"] == (report_dir / "nam2023" / "latest").resolve().name
    assert record["study"]["id"] == "nam2023" and len(record["study"]["sha256"]) == 64
    assert record["pms_export"]["export_date"] == sorted(p.name for p in (pipeline_data / "pms").iterdir())[-1][-10:]
    files = [i for i in record["inputs"] if i["path"]]  # (pr.csv: not delivered, listed without a file)
    assert "PROACT_DEMOGRAPHICS.csv" in {Path(i["path"]).name for i in files}
    assert all(len(i["sha256"]) == 64 for i in files)
    assert record["packages"]["dbt-core"].startswith("1.11")
    first = report_dir / "nam2023" / pipeline_run.run_id  # every run's report is kept under its id
    assert (first / "study_report.html").is_file() and (first / "provenance.json").is_file()
    run_dir = report_dir / "nam2023" / record["run_id"]
    assert pipeline_run.report.resolve() == (run_dir / "study_report.html").resolve()
    html = pipeline_run.report.read_text()
    assert "Appendix: provenance" in html and record["run_id"] in html and record["study"]["sha256"] in html
    # the generator's data carry its marker, so the banner shows (medium_data comes from `generate`)
    assert ("SYNTHETIC DATA" in html) == (record["synthetic"] is not None)


def test_a_second_study_spec_runs_without_code_changes_and_its_report_says_so(pipeline_run, pipeline_data,
                                                                               tmp_path):
    """studies/caliper02_ratio2_aligned.yml: caliper 0.2, 1:2, aligned only - beside the first study."""
    from als_eca.settings import REPO_ROOT
    from orchestration.run import run_pipeline

    spec = REPO_ROOT / "studies" / "caliper02_ratio2_aligned.yml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        summary = run_pipeline(proact=pipeline_data / "proact", pms=pipeline_data / "pms",
                               warehouse=tmp_path / "warehouse.duckdb", log_level="WARNING", study=spec)
    assert summary.success, summary.failure
    analysis = tmp_path / "analysis"
    aligned = json.loads((analysis / "aligned_analysis.json").read_text())
    pairs = aligned["matching"]["pairs"]
    treated = {p[0] for p in pairs}
    assert len(pairs) > len(treated)  # 1:2 - more than one control per matched treated patient
    assert aligned["provenance"]["study"]["id"] == "caliper02-ratio2-aligned"
    assert json.loads((analysis / "results.json").read_text())["not_estimable"].startswith(
        "not requested by the study spec")
    html = summary.report.read_text()
    assert "caliper 0.2 SD of the PS" in html and "1:2" in html and "analyses: aligned;" in html
    assert summary.report.resolve().parent.parent.name == "caliper02-ratio2-aligned"
    assert not [c for c in summary.failed_checks if "estimable" in c]  # a step not asked for is no warning
    with duckdb.connect(str(summary.snapshot), read_only=True) as con:
        steps = dict(con.execute("SELECT step, status FROM analysis.steps").fetchall())
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analysis'"
                                            ).fetchall()}
    assert steps["propensity_scores"] == steps["matched_cohort"] == "not requested"
    assert steps["aligned_analysis"] == "estimated"
    assert "aligned_matched_pairs" in tables and not tables & {"matched_pairs", "km_summary", "cox_terms"}


def test_the_study_is_run_config_in_the_launchpad(pipeline_run, pipeline_data):
    """`resources: {study: {config: {path: ...}}}` in the launchpad's run config picks the study of a UI run."""
    import dagster as dg

    from als_eca.settings import REPO_ROOT, get_settings
    from orchestration.definitions import build_definitions

    settings = get_settings(proact=pipeline_data / "proact", pms=pipeline_data / "pms",
                            warehouse=pipeline_run.warehouse)
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    variant = REPO_ROOT / "studies" / "caliper02_ratio2_aligned.yml"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        result = job.execute_in_process(
            run_config={"resources": {"study": {"config": {"path": str(variant)}}}},
            asset_selection=[dg.AssetKey(["analysis", "provenance"])], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    record = json.loads((pipeline_run.warehouse.parent / "analysis" / "provenance.json").read_text())
    assert record["study"]["id"] == "caliper02-ratio2-aligned" and record["run_id"] == result.run_id


def test_an_earlier_data_cut_runs_with_as_of_and_the_report_shows_every_cut(pipeline_run, pipeline_data):
    """`als-eca run --pms-as-of` on the earlier export, then a plain run on the latest (so the warehouse ends as the
    other tests found it): each run's headline figures are kept under its cut, and the report lists both cuts,
    its own marked, with the HR-per-cut figure."""
    from als_eca.study.cuts import read_cuts
    from orchestration.run import run_pipeline

    exports = sorted(p.name[-10:] for p in (pipeline_data / "pms").iterdir())
    first, last = exports[0], exports[-1]
    args = {"proact": pipeline_data / "proact", "pms": pipeline_data / "pms", "warehouse": pipeline_run.warehouse,
            "log_level": "WARNING"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.delenv("ALS_ECA_PMS_AS_OF", raising=False)
        earlier = run_pipeline(**args, force=False, pms_as_of=first)
        assert earlier.success and earlier.job == "refresh_pms", earlier.failure  # PRO-ACT as it was
        assert run_pipeline(**args, force=False, pms_as_of=first).up_to_date  # the same cut again: nothing to do
        latest = run_pipeline(**args, force=False)
    assert latest.success and not latest.up_to_date, latest.failure
    analysis = pipeline_run.warehouse.parent / "analysis"
    assert json.loads((analysis / "provenance.json").read_text())["pms_export"]["export_date"] == last
    cuts = read_cuts(pipeline_run.warehouse.parent / "cuts", "nam2023")
    assert [(c["export_date"], c["run_id"]) for c in cuts] == [(first, earlier.run_id), (last, latest.run_id)]
    eligible = [c["analyses"]["replication"]["eligible"]["treated"] for c in cuts]
    assert eligible[0] < eligible[1]  # the earlier export holds fewer treated patients
    report_dir = pipeline_run.warehouse.parent / "report" / "nam2023"
    early_html = (report_dir / earlier.run_id / "study_report.html").read_text()
    html = latest.report.read_text()
    assert f"{first} (this run)" in early_html and f"{last} (this run)" not in early_html
    section = html[html.index("Results by data cut</h2>"):html.index("Simulation bias audit</h2>")]
    assert f"<td>{first}</td>" in section and f"<td>{last} (this run)</td>" in section
    assert "Hazard ratio of BM-MSC single cycle vs control with 95 % CI per PMS data cut" in section
    assert section.count("data:image/png;base64,") == 1
