"""The dbt docs site: every test has a short name of its own (it is the Dagster check name, cut off in the UI when
long), every model and column is described, the project's own overview page replaces dbt's "Welcome!", and the
exposures carry the lineage from the marts to the Dagster analysis assets and the study report - without adding
anything to the Dagster graph."""

from __future__ import annotations

import json

import pytest
import yaml

from als_eca.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.xdist_group("dbt")

MAX_TEST_NAME = 40  # what the Dagster UI shows of a check name beside its status without cutting it


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """The project's manifest from `dbt parse` (no warehouse needed), in a target folder of its own."""
    from dbt.cli.main import dbtRunner

    folder = tmp_path_factory.mktemp("dbt_docs")
    with pytest.MonkeyPatch.context() as mp:
        # The profile needs a path; parse never opens it.
        mp.setenv("ALS_ECA_WAREHOUSE", str(folder / "warehouse.duckdb"))
        result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                     str(DBT_PROJECT_DIR), "--target-path", str(folder / "target"), "--quiet",
                                     "--no-partial-parse"])
    assert result.success, result.exception
    return json.loads((folder / "target" / "manifest.json").read_text())


def _nodes(manifest: dict, resource_type: str) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == resource_type]


def _yml_test_entries() -> list[tuple[str, str, object]]:
    """Every data test entry written in the project's yml files: (file, owner model/seed[.column], entry)."""
    entries = []
    files = [*DBT_PROJECT_DIR.glob("models/**/*.yml"), *DBT_PROJECT_DIR.glob("seeds/**/*.yml"),
             *DBT_PROJECT_DIR.glob("snapshots/**/*.yml")]
    for path in files:
        spec = yaml.safe_load(path.read_text()) or {}
        for kind in ("models", "seeds", "snapshots", "sources"):
            for owner in spec.get(kind) or []:
                for parent in [owner, *(owner.get("columns") or []), *(owner.get("tables") or [])]:
                    where = owner["name"] + ("" if parent is owner else "." + parent["name"])
                    for key in ("data_tests", "tests"):
                        entries += [(path.name, where, entry) for entry in parent.get(key) or []]
    return entries


def _explicit_name(entry: object) -> str | None:
    """The `name:` a yml test entry gives its test (`- unique: {name: x}` or `- name: x, test_name: unique`)."""
    if not isinstance(entry, dict):
        return None  # `- not_null`: dbt makes up the name
    if "test_name" in entry:
        return entry.get("name")
    [(_, body)] = entry.items()
    return body.get("name") if isinstance(body, dict) else None


def test_every_test_in_the_yml_files_is_named_explicitly():
    entries = _yml_test_entries()
    assert len(entries) >= 150
    unnamed = [(file, where, entry) for file, where, entry in entries if not _explicit_name(entry)]
    assert not unnamed, f"tests without a `name:` of their own: {unnamed}"


def test_every_test_name_is_short_and_unique(manifest):
    tests = _nodes(manifest, "test")
    assert len(tests) == len(_yml_test_entries()) + len(list(DBT_PROJECT_DIR.glob("tests/**/*.sql")))
    names = [t["name"] for t in tests]
    too_long = sorted(n for n in names if len(n) > MAX_TEST_NAME)
    assert not too_long, f"longer than {MAX_TEST_NAME} characters: {too_long}"
    assert len(set(names)) == len(names), sorted({n for n in names if names.count(n) > 1})
    # None of dbt's made-up names (`<test>_<model>_<column>...`) slipped through, e.g. from a singular test file
    # named like one.
    made_up = [t["name"] for t in tests if t.get("test_metadata")
               and t["name"].startswith(f"{t['test_metadata']['name']}_{t.get('attached_node', '').split('.')[-1]}")]
    assert not made_up, made_up


def test_every_model_seed_and_column_is_described(manifest):
    described = [*_nodes(manifest, "model"), *_nodes(manifest, "seed")]
    assert len(described) >= 30
    for node in described:
        assert node["description"].strip(), f"{node['name']} has no description"
        assert node["columns"], f"{node['name']} documents no column"
        bare = sorted(c for c, spec in node["columns"].items() if not spec["description"].strip())
        assert not bare, f"{node['name']}: columns without a description {bare}"
    for source in manifest["sources"].values():
        assert source["description"].strip(), f"{source['unique_id']} has no description"


def test_the_overview_page_is_the_projects_and_names_every_mart(manifest):
    overview = manifest["docs"].get("doc.als_eca.__overview__")
    assert overview, "no {% docs __overview__ %} block: dbt docs open on its own 'Welcome!' page"
    text = overview["block_contents"]
    marts = sorted(n["name"] for n in _nodes(manifest, "model") if n["schema"] == "marts")
    assert len(marts) >= 5
    missing = [m for m in marts if f"`{m}`" not in text]
    assert not missing, f"the overview does not say what these marts answer: {missing}"
    for layer in ("raw", "staging", "intermediate", "marts"):
        assert f"| {layer} |" in text, f"the overview's layer table has no row for {layer}"
    for must in ("Nam et al. 2023", "PRO-ACT", "PMS", "stg_<source>__<entity>", "make sql", "Severity `error`",
                 "Severity `warn`"):
        assert must in text, must


def _marts_read(asset, assets_by_key: dict) -> set[str]:
    """The marts an analysis asset's numbers come from: its own mart deps and those of the analysis assets
    before it."""
    marts = set()
    for dep in asset.asset_deps[asset.key]:
        if dep.path[0] == "marts":
            marts.add(dep.path[-1])
        elif dep in assets_by_key:
            marts |= _marts_read(assets_by_key[dep], assets_by_key)
    return marts


def test_an_exposure_per_analysis_asset_depends_on_the_marts_it_reads(manifest):
    """dbt docs' lineage reaches every Dagster analysis asset and the report, through the marts each reads."""
    from orchestration.analysis import analysis_assets

    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    exposures = {e["label"]: e for e in manifest["exposures"].values()}
    assets_by_key = {a.key: a for a in analysis_assets}
    for asset in analysis_assets:
        label = "Study report" if asset.key.path[-1] == "study_report" else asset.key.to_user_string()
        assert label in exposures, f"no exposure for the Dagster asset {asset.key.to_user_string()}"
        exposure = exposures.pop(label)
        assert exposure["description"].strip() and exposure["owner"]["name"]
        assert exposure["url"].endswith("/assets/" + asset.key.to_user_string())
        depends = exposure["depends_on"]["nodes"]
        assert all(models.get(uid, {}).get("schema") == "marts" for uid in depends), depends
        assert {models[uid]["name"] for uid in depends} == _marts_read(asset, assets_by_key), label
    assert not exposures, f"exposures of no analysis asset: {sorted(exposures)}"


def test_exposures_add_nothing_to_the_dagster_graph(tmp_path):
    """dagster-dbt makes assets of models and seeds only: an exposure must not become a second, dbt-made
    `analysis/...` asset beside the real one (nor a check)."""
    from orchestration.dbt import build_dbt_assets, dbt_project

    dbt_assets = build_dbt_assets(tmp_path / "warehouse.duckdb")
    loaded = json.loads(dbt_project(tmp_path / "warehouse.duckdb").manifest_path.read_text())
    assert len(loaded["exposures"]) >= 10, "the manifest Dagster loads has the exposures"
    relational = [n for n in loaded["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert len(dbt_assets.keys) == len(relational)
    assert {key.path[0] for key in dbt_assets.keys} == {"staging", "intermediate", "marts", "reference"}
    assert not {e["name"] for e in loaded["exposures"].values()} & {key.path[-1] for key in dbt_assets.keys}
    from orchestration.dbt import TRANSLATOR
    from orchestration.dbt_checks import build_dbt_checks

    checks = build_dbt_checks(dbt_project(tmp_path / "warehouse.duckdb").manifest_path, TRANSLATOR)
    assert not list(dbt_assets.check_keys)  # the tests are checks of their own steps (orchestration/dbt_checks.py)
    assert sum(len(list(c.check_keys)) for c in checks) == len([n for n in loaded["nodes"].values()
                                                                if n["resource_type"] == "test"])
