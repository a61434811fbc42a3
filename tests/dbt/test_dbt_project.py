"""The dbt project on its own: builds on the generated sample with every test passing, documents every model and
column, and its tests catch crafted defects (each defect trips its own test)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest import load_all
from als_eca.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.xdist_group("dbt")

PROJECT = DBT_PROJECT_DIR


def _dbt(command: str, warehouse: Path, target: Path, monkeypatch, *args: str) -> dict[str, str]:
    """Run a dbt command (with extra `args`); returns {node name: status} from run_results.json, exposures left
    out (they describe what reads the marts: `dbt build` lists them, as no-op)."""
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("ALS_ECA_WAREHOUSE", str(warehouse))
    dbtRunner().invoke([command, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                        "--target-path", str(target), "--quiet", *args])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results if not r["unique_id"].startswith("exposure.")}


def _dbt_build(warehouse: Path, target: Path, monkeypatch) -> dict[str, str]:
    return _dbt("build", warehouse, target, monkeypatch)


@pytest.fixture(scope="module")
def built(small_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dbt")
    raw = folder / "loaded.duckdb"  # (a file named raw.duckdb would make catalog "raw" clash with schema "raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        with duckdb.connect(str(raw)) as con:
            load_all(con, small_data / "proact", small_data / "pms")
        warehouse = folder / "warehouse.duckdb"
        shutil.copy(raw, warehouse)
        statuses = _dbt_build(warehouse, folder / "target", mp)
    return raw, warehouse, statuses, folder / "target"


def test_the_project_builds_on_the_sample_with_every_test_passing(built):
    _, _, statuses, _ = built
    assert statuses, "dbt ran nothing"
    bad = {k: v for k, v in statuses.items() if v not in ("success", "pass")}
    assert not bad, bad
    assert sum(1 for v in statuses.values() if v == "pass") >= 150  # the tests ran


def test_every_model_and_column_is_documented(built):
    _, warehouse, _, target = built
    manifest = json.loads((target / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) >= 30
    with duckdb.connect(str(warehouse)) as con:  # (dbt, in this process, still holds a read-write connection)
        for model in models:
            assert model["description"].strip(), f"{model['name']} has no description"
            actual = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [model["schema"], model["name"]]).fetchall()}
            documented = {c for c, spec in model["columns"].items() if spec["description"].strip()}
            assert actual <= documented, f"{model['name']}: undocumented {sorted(actual - documented)}"


def test_the_analysis_reads_only_columns_of_mart_survival_cohort(built):
    """The analysis input contract (analytics.study.COHORT_COLUMNS) names columns the dbt model documents."""
    from analytics.study import COHORT_COLUMNS, REQUIRED_COLUMNS

    _, _, _, target = built
    manifest = json.loads((target / "manifest.json").read_text())
    [model] = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"
               and n["name"] == "mart_survival_cohort"]
    assert set(COHORT_COLUMNS) <= set(model["columns"]), sorted(set(COHORT_COLUMNS) - set(model["columns"]))
    assert set(REQUIRED_COLUMNS) < set(COHORT_COLUMNS)


def test_crafted_defects_each_trip_their_own_test(built, tmp_path, monkeypatch):
    raw, _, _, _ = built
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(raw, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # A PMS injection delivered twice; an ALSFRS-R item of 5 slipped past the loader; a patient twice in DM;
        # an unknown severity coding; a death recorded before the first injection.
        con.execute("INSERT INTO raw.pms_ex SELECT * FROM raw.pms_ex LIMIT 1")
        con.execute("UPDATE raw.proact_alsfrs SET Q1_Speech = 5 WHERE rowid = (SELECT min(rowid) FROM raw.proact_alsfrs "
                    "WHERE Q1_Speech IS NOT NULL)")
        con.execute("INSERT INTO raw.pms_dm SELECT * FROM raw.pms_dm LIMIT 1")
        con.execute("UPDATE raw.pms_ae SET AESEV = 'GRAVE' WHERE rowid = 0")
        con.execute("""UPDATE raw.pms_dm SET DTHDTC = '2000-01-01'
                       WHERE USUBJID = (SELECT max(USUBJID) FROM raw.pms_dm)""")
        # A vital status in a coding the models do not know; a sex coded M instead of Male.
        con.execute("UPDATE raw.proact_deathdata SET Subject_Died = 'Y' WHERE rowid = (SELECT min(rowid) "
                    "FROM raw.proact_deathdata WHERE Subject_Died = 'Yes')")
        con.execute("UPDATE raw.proact_demographics SET Sex = 'M' WHERE rowid = 0")
        # An impossible death date of a patient flagged dead: must not become a censoring silently.
        con.execute("""UPDATE raw.pms_dm SET DTHDTC = '2020-11-31', DTHFL = 'Y'
                       WHERE USUBJID = (SELECT min(USUBJID) FROM raw.pms_dm)""")
    # `run` then `test` (not `build`, which skips everything downstream of the first failing test): every test
    # is evaluated on the defective data.
    _dbt("seed", warehouse, tmp_path / "target", monkeypatch)
    _dbt("run", warehouse, tmp_path / "target", monkeypatch)
    statuses = _dbt("test", warehouse, tmp_path / "target", monkeypatch)
    failed = {k for k, v in statuses.items() if v in ("fail", "warn", "error")}
    expected = {
        "fct_treatment_no_duplicate_injections",  # the duplicated injection ...
        "int_pms_injections_one_per_day",  # ... already in intermediate
        "proact_alsfrs_item_q1_range",  # the item of 5
        "pms_dm_subject_id_unique",  # the duplicated patient
        "pms_ae_severity_valid",  # the unknown coding (a warning)
        "dim_patient_death_on_or_after_index",  # death before index
        "dim_patient_subject_id_unique",  # the duplicated patient reaches the dimension
        "pms_dm_death_date_parses",  # 2020-11-31
        "proact_deathdata_status_coding_known",  # 'Y'
        "proact_demographics_sex_coding_known",  # 'M' (a warning)
    }
    assert expected <= failed, (expected - failed, failed)

    # The failing rows a Dagster check shows come from the test's compiled SQL in run_results.json.
    from orchestration.dbt_checks import failing_rows

    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    compiled = {r["unique_id"].split(".")[2]: r["compiled_code"] for r in results}
    # (dbt, in this process, holds the warehouse read-write: the check reads a copy, as it would after dbt exits)
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / warehouse.name  # (same name: compiled SQL names the catalog by the file's stem)
    for suffix in ("", ".wal"):
        if Path(f"{warehouse}{suffix}").exists():
            shutil.copy(f"{warehouse}{suffix}", f"{copy}{suffix}")
    with duckdb.connect(str(copy), read_only=True) as con:
        sample = failing_rows(con, compiled["proact_alsfrs_item_q1_range"])["failing_rows_sample"]
    header, _, first = sample.value.splitlines()[:3]
    assert "failing_value" in header and first.split("|")[1].strip() == "5", sample
