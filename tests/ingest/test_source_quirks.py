"""Source quirks are data, not build failures: exact duplicate lines, a quarantined patient record and its rows
elsewhere, optional PMS domains absent from an export. Every fixture is made here from the generated sample."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest import IngestError, discover_pms, discover_proact, load_all, load_source
from als_eca.ingest.loader import load_file
from als_eca.ingest.schemas import PMS_TABLES, PROACT_TABLES

KEY = "test-key-not-secret"


@pytest.fixture()
def con():
    with duckdb.connect() as c:
        yield c


def _copy_sample(small_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    proact, pms = tmp_path / "proact", tmp_path / "pms"
    shutil.copytree(small_data / "proact", proact)
    shutil.copytree(small_data / "pms", pms)
    return proact, pms


def _export(pms: Path) -> Path:
    return sorted(pms.iterdir())[-1]


def _refresh_manifest(export: Path) -> None:
    """Re-declare rows and checksums of an export whose files a test edited (as the EDC would)."""
    manifest = json.loads((export / "manifest.json").read_text())
    for name in list(manifest["files"]):
        path = export / name
        if not path.exists():
            continue
        data = path.read_bytes()
        rows = data.count(b"\n") - 1
        manifest["files"][name] = {"rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
    (export / "manifest.json").write_text(json.dumps(manifest))


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _reconciled(con, table: str) -> None:
    read, loaded, quarantined = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM raw.load_audit WHERE source_table = ?", [table]
    ).fetchone()
    assert loaded == con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
    assert quarantined == con.execute("SELECT count(*) FROM raw.quarantine WHERE source_table = ?",
                                      [table]).fetchone()[0]
    assert read == loaded + quarantined, (table, read, loaded, quarantined)


# ---------------------------------------------------------------- exact duplicate lines, in any file


@pytest.mark.parametrize("schema", [*PROACT_TABLES, *PMS_TABLES], ids=lambda s: s.table)
def test_exact_duplicate_lines_load_once_and_the_copies_are_quarantined(small_data, tmp_path, con, schema):
    folder = small_data / "proact" if schema.source == "proact" else _export(small_data / "pms")
    source = next(s for s in (discover_proact(folder) if schema.source == "proact" else discover_pms(folder.parent))
                  if s.schema.table == schema.table)
    if source.path is None:
        pytest.skip("the sample has no such file")
    key = KEY.encode() if schema.pseudonymised else None
    before = load_file(con, schema, source.path, key=key)
    lines = _lines(source.path)
    if len(lines) < 4:
        pytest.skip("too few records")
    # line 2 (the first record) copied right after itself and at the end; the middle record copied at the end
    middle = len(lines) // 2
    ending = b"\r\n" if lines[1].endswith(b"\r\n") else b"\n"
    last = lines[-1] if lines[-1].endswith(b"\n") else lines[-1] + ending
    edited = [lines[0], lines[1], lines[1], *lines[2:-1], last, lines[1], lines[middle]]
    path = tmp_path / source.path.name
    path.write_bytes(b"".join(edited))
    after = load_file(con, schema, path, key=key)
    assert after.rows_read == before.rows_read + 3
    assert after.rows_loaded == before.rows_loaded
    dup = dict(con.execute(
        "SELECT line, reason FROM raw.quarantine WHERE source_table = ? AND reason LIKE 'exact duplicate%'",
        [schema.table]).fetchall())
    n = len(edited)
    assert dup[3] == "exact duplicate of line 2"
    assert dup[n - 1] == "exact duplicate of line 2"
    assert dup[n] == f"exact duplicate of line {middle + 1 + (middle >= 2)}"
    _reconciled(con, schema.table)


def test_a_duplicated_demographics_line_no_longer_fails_the_build_and_a_conflicting_one_is_a_flag(
        small_data, tmp_path, con, pseudonym_key):
    """The exact duplicate goes to quarantine; two rows of one subject that disagree stay visible as a conflict."""
    proact, pms = _copy_sample(small_data, tmp_path)
    path = proact / "PROACT_DEMOGRAPHICS.csv"
    lines = _lines(path)
    conflicting = lines[2].replace(b",Male", b",Female") if b",Male" in lines[2] else lines[2].replace(
        b",Female", b",Male")
    path.write_bytes(b"".join([*lines, lines[1], conflicting]))
    load_all(con, proact, pms)
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE source_table = 'proact_demographics'"
                       ).fetchone()[0] == 1
    sid = int(lines[2].split(b",")[0])
    assert con.execute("SELECT count(DISTINCT Sex) FROM raw.proact_demographics WHERE subject_id = ?",
                       [sid]).fetchone()[0] == 2
    _reconciled(con, "proact_demographics")


# ---------------------------------------------------------------- quarantine cascades to the patient


def _pms_patient_line(export: Path, line_no: int) -> tuple[str, list[bytes]]:
    lines = _lines(export / "dm.csv")
    return lines[line_no - 1].split(b",")[1].decode(), lines


@pytest.mark.parametrize("defect", ["rule", "parse"])
def test_a_quarantined_dm_record_holds_back_the_patients_rows_in_every_domain(small_data, tmp_path, con,
                                                                            pseudonym_key, defect):
    proact, pms = _copy_sample(small_data, tmp_path)
    export = _export(pms)
    header = _lines(export / "dm.csv")[0].decode().strip().split(",")
    usubjid, lines = _pms_patient_line(export, 3)
    fields = lines[2].decode().rstrip("\r\n").split(",")
    fields[header.index("AGE")] = "150" if defect == "rule" else "abc"  # out of range / not a number
    lines[2] = (",".join(fields) + "\n").encode()
    (export / "dm.csv").write_bytes(b"".join(lines))
    # and an ex row of a patient the export does not know at all
    ex = _lines(export / "ex.csv")
    (export / "ex.csv").write_bytes(b"".join([*ex, ex[1].replace(b"NR-PMS-", b"NR-PMS-9", 1)]))
    _refresh_manifest(export)
    load_all(con, proact, pms)

    (pseudonym,) = con.execute("SELECT subject_id FROM raw.pms_dm_quarantined").fetchone()
    assert pseudonym.startswith("PMS-")
    held = con.execute("""SELECT source_table, count(*), any_value(reason) FROM raw.quarantine
                          WHERE subject_key = ? AND source_table <> 'pms_dm' GROUP BY 1""", [pseudonym]).fetchall()
    assert {t for t, _, _ in held} >= {"pms_ex", "pms_qs", "pms_mh"}
    assert {r for _, _, r in held} == {"patient quarantined in dm.csv line 3"}
    for table in ("pms_ex", "pms_qs", "pms_ae", "pms_mh", "pms_cm", "pms_ds"):
        assert con.execute(f"SELECT count(*) FROM raw.{table} WHERE USUBJID = ?", [pseudonym]).fetchone()[0] == 0
        _reconciled(con, table)
    orphan = con.execute("SELECT line, reason FROM raw.quarantine WHERE source_table = 'pms_ex' "
                         "AND reason LIKE 'patient has no record%'").fetchall()
    assert orphan == [(len(ex) + 1, "patient has no record in dm.csv")]
    assert usubjid not in str(con.execute("SELECT * FROM raw.quarantine").fetchall())  # pseudonyms only


def test_a_quarantined_demographics_record_holds_back_the_subjects_rows(small_data, tmp_path, con, pseudonym_key):
    proact, pms = _copy_sample(small_data, tmp_path)
    path = proact / "PROACT_DEMOGRAPHICS.csv"
    lines = _lines(path)
    header = lines[0].decode().strip().split(",")
    alsfrs_subjects = {line.split(b",")[0] for line in _lines(proact / "PROACT_ALSFRS.csv")[1:]}
    k = next(i for i in range(1, len(lines)) if lines[i].split(b",")[0] in alsfrs_subjects)
    fields = lines[k].decode().rstrip("\r\n").split(",")
    fields[header.index("Age")] = "150"
    lines[k] = (",".join(fields) + "\r\n").encode()
    path.write_bytes(b"".join(lines))
    load_all(con, proact, pms)
    sid = fields[0]
    assert con.execute("SELECT subject_id, line FROM raw.proact_demographics_quarantined").fetchall() == [(sid, k + 1)]
    reasons = {r for (r,) in con.execute(
        "SELECT DISTINCT reason FROM raw.quarantine WHERE subject_key = ? AND source_table <> 'proact_demographics'",
        [sid]).fetchall()}
    assert reasons == {f"patient quarantined in PROACT_DEMOGRAPHICS.csv line {k + 1}"}
    assert con.execute("SELECT count(*) FROM raw.proact_alsfrs WHERE subject_id = ?", [int(sid)]).fetchone()[0] == 0
    for schema in PROACT_TABLES:
        _reconciled(con, schema.table)


# ---------------------------------------------------------------- optional PMS domains


def test_an_export_without_procedures_loads_them_empty_and_says_so(small_data, tmp_path, con, pseudonym_key):
    proact, pms = _copy_sample(small_data, tmp_path)
    export = _export(pms)
    (export / "pr.csv").unlink()
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"].pop("pr.csv")
    (export / "manifest.json").write_text(json.dumps(manifest))
    results = {r.table: r for r in load_all(con, proact, pms)}
    assert results["pms_pr"].path is None and results["pms_pr"].rows_loaded == 0
    assert any("no source file" in w for w in results["pms_pr"].warnings)
    assert con.execute("SELECT count(*) FROM raw.pms_pr").fetchone()[0] == 0


def test_a_file_the_manifest_lists_but_the_export_lacks_is_an_error_naming_it(small_data, tmp_path, con,
                                                                             pseudonym_key):
    _, pms = _copy_sample(small_data, tmp_path)
    export = _export(pms)
    (export / "pr.csv").unlink()  # a half-copied export: the manifest still promises it
    source = next(s for s in discover_pms(pms) if s.schema.name == "pr")
    with pytest.raises(IngestError, match="listed in manifest.json but missing") as err:
        load_source(con, source)
    assert err.value.file == str(export / "pr.csv")


@pytest.mark.parametrize("domain", ["dm", "ex", "qs"])
def test_a_required_domain_missing_is_an_error_naming_the_real_path(small_data, tmp_path, con, pseudonym_key,
                                                                   domain):
    _, pms = _copy_sample(small_data, tmp_path)
    export = _export(pms)
    (export / f"{domain}.csv").unlink()
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"].pop(f"{domain}.csv")
    (export / "manifest.json").write_text(json.dumps(manifest))
    source = next(s for s in discover_pms(pms) if s.schema.name == domain)
    with pytest.raises(IngestError, match="required PMS file is missing") as err:
        load_source(con, source)
    assert err.value.file == str(export / f"{domain}.csv")
    assert "<" not in str(err.value)


# ---------------------------------------------------------------- no value silently becomes NULL


def test_a_pms_date_that_does_not_parse_is_quarantined_with_its_reason(tmp_path, con):
    from als_eca.ingest.schemas import by_table

    ae, qs = by_table("pms_ae"), by_table("pms_qs")
    header = ",".join(ae.column_names)
    rows = ["NR-PMS,NR-PMS-101-0001,1,요통,Back pain,Musculoskeletal and connective tissue disorders,MILD,N,N,N,"
            "POSSIBLE,RECOVERED/RESOLVED,2020-11-31,",  # impossible day
            "NR-PMS,NR-PMS-101-0001,2,두통,Headache,Nervous system disorders,MILD,N,N,N,POSSIBLE,,2020-11,",  # partial: ok
            "NR-PMS,NR-PMS-101-0001,3,발열,Pyrexia,General disorders and administration site conditions,MILD,N,N,N,"
            "POSSIBLE,,11/30/2020,"]  # not a date form
    path = tmp_path / "ae.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_file(con, ae, path, key=KEY.encode())
    q = con.execute("SELECT line, column_name, value, reason FROM raw.quarantine ORDER BY line").fetchall()
    assert q == [(2, "AESTDTC", "2020-11-31", "not a date (YYYY-MM-DD, YYYY-MM, YYYY or YYYYMMDD)"),
                 (4, "AESTDTC", "11/30/2020", "not a date (YYYY-MM-DD, YYYY-MM, YYYY or YYYYMMDD)")]
    # an assessment date must be complete: a partial one cannot be placed on the follow-up axis
    header = ",".join(qs.column_names)
    path = tmp_path / "qs.csv"
    path.write_text(header + "\nNR-PMS,NR-PMS-101-0001,1,ALSFRS-R,ALSFRSTO,Total score,,40,40,MONTH 1,2020-11\n",
                    encoding="utf-8")
    load_file(con, qs, path, key=KEY.encode())
    assert con.execute("SELECT reason FROM raw.quarantine WHERE source_table = 'pms_qs'").fetchall() == [
        ("not a complete date (YYYY-MM-DD or YYYYMMDD)",)]


# ---------------------------------------------------------------- deliveries compared


def test_a_newer_export_with_fewer_patients_is_reported(small_data, tmp_path, con, pseudonym_key):
    from als_eca.ingest import deliveries
    from als_eca.ingest.discover import pms_sources

    _, pms = _copy_sample(small_data, tmp_path)
    older = _export(pms)
    newer = pms / "pms_export_2022-06-30"
    shutil.copytree(older, newer)
    # the newer cumulative export lost one patient (every domain) and changed one AE's outcome
    lines = _lines(newer / "dm.csv")
    gone = lines[4].split(b",")[1]
    for path in newer.glob("*.csv"):
        kept = [line for i, line in enumerate(_lines(path)) if i == 0 or line.split(b",")[1] != gone]
        path.write_bytes(b"".join(kept))
    ae = _lines(newer / "ae.csv")
    ae[1] = ae[1].replace(b"RECOVERED/RESOLVED", b"NOT RECOVERED/NOT RESOLVED", 1)
    (newer / "ae.csv").write_bytes(b"".join(ae))
    _refresh_manifest(newer)

    for export in (older, newer):
        deliveries.keep_previous(con, export.name)
        for source in pms_sources(export):
            load_source(con, source)
        previous, counts = deliveries.compare(con, export.name)
    assert previous == older.name
    changes = {(d, c): (p, r) for d, c, p, r in counts}
    assert changes[("dm", "disappeared")] == (1, 1)
    assert all(c != "added" for _, c in changes)
    disappeared = {p for (p,) in con.execute(
        "SELECT DISTINCT subject_id FROM raw.pms_delivery_changes WHERE change = 'disappeared'").fetchall()}
    assert len(disappeared) == 1 and next(iter(disappeared)).startswith("PMS-")  # a pseudonym, never the USUBJID
    if ae[1] != _lines(older / "ae.csv")[1]:
        assert changes[("ae", "changed")][1] >= 1
    # reloading the newest export keeps it compared with the one before
    deliveries.keep_previous(con, newer.name)
    assert {(d, c) for d, c, _, _ in deliveries.compare(con, newer.name)[1]} == set(changes)


def test_dm_rows_keep_their_physical_line_for_the_checks_that_name_it(tmp_path, con):
    from als_eca.ingest.schemas import by_table

    dm = by_table("pms_dm")
    header = ",".join(dm.column_names)
    rows = ["NR-PMS,NR-PMS-101-0001,0001,101,KJH,1,1970-05-06,50,M,ASIAN,KOR,2020-01-02,2020-01-30,,",
            "NR-PMS,NR-PMS-101-0002,0002,101,LMN,2,1971-05-06,abc,M,ASIAN,KOR,2020-01-02,2020-01-30,,",  # rejected
            "NR-PMS,NR-PMS-101-0003,0003,101,OPQ,3,1972-05-06,60,F,ASIAN,KOR,2020-02-02,2020-03-01,2020-11-31,Y"]
    path = tmp_path / "dm.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_file(con, dm, path, key=KEY.encode())
    assert con.execute("SELECT AGE, _source_line FROM raw.pms_dm ORDER BY _source_line").fetchall() == [
        (50, 2), (60, 4)]
