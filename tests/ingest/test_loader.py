"""The loader against a corpus of bad inputs and real-layout variants: every file either fails with an error
naming file, line and column, or loads with rejected rows quarantined (line, column, reason) - never silent loss."""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest import IngestError, checksum, discover_proact, load_all, load_source
from als_eca.ingest.discover import DiscoveryError, newest_pms_export, proact_form_of
from als_eca.ingest.loader import load_file
from als_eca.ingest.manifest import reconcile
from als_eca.ingest.pseudonym import key_file, pseudonym_key
from als_eca.ingest.schemas import PMS_TABLES, PROACT_TABLES, by_table

DEATH = by_table("proact_deathdata")
ALSFRS = by_table("proact_alsfrs")
DM = by_table("pms_dm")
KEY = b"test-key-not-secret"


@pytest.fixture()
def con():
    with duckdb.connect() as c:
        yield c


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _quarantine(con) -> list[tuple]:
    return con.execute("SELECT line, column_name, value, reason FROM raw.quarantine ORDER BY line").fetchall()


def _assert_reconciled(con, result) -> None:
    """rows read (counted from the file) = rows loaded + rows quarantined, in the result, the audit and the tables."""
    loaded = con.execute(f"SELECT count(*) FROM raw.{result.table}").fetchone()[0]
    quarantined = con.execute("SELECT count(*) FROM raw.quarantine WHERE source_table = ?", [result.table]).fetchone()[0]
    audit = con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM raw.load_audit WHERE source_table = ?",
                        [result.table]).fetchone()
    assert (result.rows_loaded, result.rows_quarantined) == (loaded, quarantined)
    assert audit == (result.rows_read, loaded, quarantined)
    assert result.rows_read == loaded + quarantined


# ---------------------------------------------------------------- whole-file errors name file, line and column


def test_a_missing_required_column_fails_naming_file_line_and_column(tmp_path, con):
    path = _write(tmp_path / "PROACT_DEATHDATA.csv", "subject_id,Subject_Died\r\n1,Yes\r\n")
    with pytest.raises(IngestError) as err:
        load_file(con, DEATH, path)
    assert (err.value.file, err.value.line, err.value.column) == (str(path), 1, "Death_Days")
    assert "PROACT_DEATHDATA.csv, line 1, column 'Death_Days'" in str(err.value)


@pytest.mark.parametrize("delimiter,label", [(";", "semicolon"), ("\t", "tab")])
def test_a_wrong_delimiter_fails_with_a_clear_message(tmp_path, con, delimiter, label):
    path = _write(tmp_path / "d.csv", delimiter.join(["subject_id", "Subject_Died", "Death_Days"]) + "\n1;Yes;3\n")
    with pytest.raises(IngestError, match=f"{label}-separated"):
        load_file(con, DEATH, path)


def test_an_empty_file_fails_and_a_header_only_file_loads_no_rows(tmp_path, con):
    with pytest.raises(IngestError, match="empty"):
        load_file(con, DEATH, _write(tmp_path / "empty.csv", b""))
    result = load_file(con, DEATH, _write(tmp_path / "header.csv", "subject_id,Subject_Died,Death_Days\r\n"))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)
    _assert_reconciled(con, result)


def test_a_missing_file_fails_naming_it(tmp_path, con):
    with pytest.raises(IngestError, match="not found"):
        load_file(con, DEATH, tmp_path / "nope.csv")


# ---------------------------------------------------------------- row-level problems are quarantined with reasons


def test_bad_rows_are_quarantined_with_line_column_value_and_reason(tmp_path, con):
    text = (
        "subject_id,Subject_Died,Death_Days\r\n"
        "1,Yes,10\r\n"  # line 2: fine
        "2,Yes,abc\r\n"  # line 3: not a number
        "3,No\r\n"  # line 4: a field missing (truncated)
        "-4,Yes,5\r\n"  # line 5: negative subject id
        ",No,\r\n"  # line 6: subject id missing
        "5,Yes,1,2\r\n"  # line 7: one field too many
        "6,Yes,nan\r\n"  # line 8: not a finite number
        "7,No,\r\n"  # line 9: fine (no death day)
        "7,No,\r\n"  # line 10: an exact duplicate of line 9: loaded once, the copy quarantined
    )
    result = load_file(con, DEATH, _write(tmp_path / "PROACT_DEATHDATA.csv", text))
    q = _quarantine(con)
    assert [(line, column) for line, column, _, _ in q] == [
        (3, "Death_Days"), (4, "Death_Days"), (5, "subject_id"), (6, "subject_id"), (7, None), (8, "Death_Days"),
        (10, None)]
    reasons = {line: reason for line, _, _, reason in q}
    assert reasons[3].startswith("CAST") and '"Death_Days"' in reasons[3] and '"abc"' in reasons[3]
    assert reasons[8] == "not a finite number"
    assert reasons[5] == "subject_id must be a positive integer" and reasons[6] == "required value missing"
    assert reasons[4].startswith("MISSING COLUMNS") and reasons[7].startswith("TOO MANY COLUMNS")
    assert q[0][2] == "2,Yes,abc"  # a record the parser rejects is kept whole (PRO-ACT holds no identifiers)
    assert reasons[10] == "exact duplicate of line 9"
    assert con.execute("SELECT subject_id FROM raw.proact_deathdata ORDER BY rowid").fetchall() == [(1,), (7,)]
    _assert_reconciled(con, result)


def test_out_of_range_alsfrs_scores_are_quarantined(tmp_path, con):
    header = ",".join(ALSFRS.column_names)
    good = dict.fromkeys(ALSFRS.column_names, "")
    good.update(subject_id="1", Q1_Speech="4", ALSFRS_Delta="0", ALSFRS_R_Total="40")
    rows = [good, {**good, "Q1_Speech": "5"}, {**good, "ALSFRS_R_Total": "49"}, {**good, "R_2_Orthopnea": "-1"}]
    text = header + "\n" + "\n".join(",".join(r[c] for c in ALSFRS.column_names) for r in rows) + "\n"
    result = load_file(con, ALSFRS, _write(tmp_path / "PROACT_ALSFRS.csv", text))
    assert [(line, column, reason) for line, column, _, reason in _quarantine(con)] == [
        (3, "Q1_Speech", "ALSFRS item outside 0-4"),
        (4, "ALSFRS_R_Total", "ALSFRS-R total outside 0-48"),
        (5, "R_2_Orthopnea", "ALSFRS item outside 0-4"),
    ]
    _assert_reconciled(con, result)


def test_bytes_that_are_not_utf8_fail_the_file_naming_the_first_bad_line(tmp_path, con):
    """Quarantining each such row would lose them silently (the header is ASCII, the counts would balance)."""
    text = b"subject_id,Subject_Died,Death_Days\n1,Yes,10\n2,Y\xe9s,3\n3,No,\n"
    with pytest.raises(IngestError, match="not valid UTF-8") as err:
        load_file(con, DEATH, _write(tmp_path / "d.csv", text))
    assert err.value.line == 3 and err.value.file.endswith("d.csv")


def test_a_utf8_bom_crlf_and_blank_lines_load_cleanly(tmp_path, con):
    text = "\ufeffsubject_id,Subject_Died,Death_Days\r\n1,Yes,10\r\n\r\n2,No,\r\n"
    result = load_file(con, DEATH, _write(tmp_path / "d.csv", text))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)
    _assert_reconciled(con, result)


def test_an_unterminated_quote_is_never_a_silent_loss(tmp_path, con):
    """The parser would swallow the rest of the file into one rejected record: a file-level error instead."""
    text = 'subject_id,Subject_Died,Death_Days\n1,Yes,10\n"2,Yes,3\n3,No,\n4,No,\n'
    with pytest.raises(IngestError, match="never closed") as err:
        load_file(con, DEATH, _write(tmp_path / "d.csv", text))
    assert err.value.line == 3


def test_the_reconciliation_check_fails_when_loaded_rows_go_missing_after_load(tmp_path, con):
    from orchestration.raw import _reconciliation

    result = load_file(con, DEATH, _write(tmp_path / "d.csv", "subject_id,Subject_Died,Death_Days\n1,Yes,10\n"))
    con.execute("DELETE FROM raw.proact_deathdata")
    assert not _reconciliation(con, result).passed

def test_the_reconciliation_check_fails_when_loaded_rows_go_missing(tmp_path, con):
    from orchestration.raw import _reconciliation

    result = load_file(con, DEATH, _write(tmp_path / "d.csv", "subject_id,Subject_Died,Death_Days\n1,Yes,1\n2,No,\n"))
    assert _reconciliation(con, result).passed
    con.execute("DELETE FROM raw.proact_deathdata WHERE subject_id = 2")
    check = _reconciliation(con, result)
    assert not check.passed and check.metadata["unaccounted"].value == 1


# ---------------------------------------------------------------- columns: optional, unknown, order, case


def test_missing_optional_and_unknown_extra_columns(tmp_path, con):
    text = "SUBJECT_ID,death_days,subject_died,Trial_Site\n1,10,Yes,A\n"
    result = load_file(con, DEATH, _write(tmp_path / "d.csv", text))
    cols = [r[0] for r in con.execute("DESCRIBE raw.proact_deathdata").fetchall()]
    assert cols == ["subject_id", "Subject_Died", "Death_Days", "Trial_Site", "_source_file"]
    assert con.execute("SELECT Subject_Died, Death_Days, Trial_Site FROM raw.proact_deathdata").fetchone() == (
        "Yes", 10.0, "A")
    assert any("Trial_Site" in w for w in result.warnings)

    fvc = by_table("proact_fvc")
    load_file(con, fvc, _write(tmp_path / "f.csv", "subject_id,Forced_Vital_Capacity_Delta\n1,0\n"))
    assert con.execute("SELECT pct_of_Normal_Trial_1 FROM raw.proact_fvc").fetchone() == (None,)


def _pms_dm(tmp_path: Path, extra_header: str = "", extra_value: str = "") -> Path:
    header = ",".join(DM.column_names) + extra_header
    row = ("NR-PMS,NR-PMS-101-0001,0001,101,KJH,12345678,1970-05-06,50,M,ASIAN,KOR,2020-01-02,2020-01-30,,"
           + extra_value)
    return _write(tmp_path / "dm.csv", f"{header}\n{row}\n")


def test_pms_identifiers_never_reach_a_table_and_unknown_pms_columns_are_dropped(tmp_path, con):
    result = load_file(con, DM, _pms_dm(tmp_path, ",PATIENT_NAME", ",Kim Jae-hoon"), key=KEY)
    cols = [r[0] for r in con.execute("DESCRIBE raw.pms_dm").fetchall()]
    assert not {"SUBJID", "PATINIT", "MRN", "BRTHDTC", "PATIENT_NAME"} & set(cols)
    assert con.execute("SELECT BRTHYR, USUBJID LIKE 'PMS-%' FROM raw.pms_dm").fetchone() == (1970, True)
    assert any("PATIENT_NAME" in w and "dropped" in w for w in result.warnings)
    dump = str(con.execute("SELECT * FROM raw.pms_dm").fetchall())
    assert "NR-PMS-101" not in dump and "KJH" not in dump and "12345678" not in dump and "Kim" not in dump


def test_pms_quarantine_never_stores_an_identifier(tmp_path, con):
    header = ",".join(DM.column_names)
    text = (f"{header}\nNR-PMS,NR-PMS-101-0001,0001,101,KJH,12345678,1970-05-06,abc,M,ASIAN,KOR,2020-01-02,,,\n"
            "NR-PMS,NR-PMS-101-0002,0002,101,LMN,87654321,1971-05-06,40,M\n")
    load_file(con, DM, _write(tmp_path / "dm.csv", text), key=KEY)
    q = _quarantine(con)
    assert [(line, column) for line, column, _, _ in q] == [(2, "AGE"), (3, "RACE")]
    assert q[1][2] is None  # a malformed PMS record's raw text is not kept: it could hold identifiers
    assert "NR-PMS-101" not in str(q) and "LMN" not in str(q)


# ---------------------------------------------------------------- real-layout variants and discovery


@pytest.mark.parametrize("name,form", [
    ("PROACT_ALSFRS.csv", "ALSFRS"), ("alsfrs.csv", "ALSFRS"), ("AlsHistory.csv", "ALSHISTORY"),
    ("F_PROACT_DEATHDATA.CSV", "DEATHDATA"), ("demographics.csv", "DEMOGRAPHICS"), ("Fvc.csv", "FVC"),
    ("notes.txt", None), ("PROACT_UNKNOWN.csv", None),
])
def test_proact_file_names(name, form):
    assert proact_form_of(name) == form


def test_the_2016_archive_layout_loads_with_its_missing_optional_files_empty(small_data, tmp_path, con, pseudonym_key):
    old = tmp_path / "proact_2016"
    old.mkdir()
    names = {"ADVERSEEVENTS": "AdverseEvents.csv", "ALSFRS": "alsfrs.csv", "ALSHISTORY": "AlsHistory.csv",
             "CONMEDS": "ConMeds.csv", "DEATHDATA": "DeathData.csv", "DEMOGRAPHICS": "demographics.csv",
             "FAMILYHISTORY": "FamilyHistory.csv", "FVC": "Fvc.csv", "LABS": "Labs.csv", "RILUZOLE": "Riluzole.csv",
             "SVC": "Svc.csv", "TREATMENT": "Treatment.csv", "VITALSIGNS": "VitalSigns.csv"}
    for form, name in names.items():
        os.link(small_data / "proact" / f"PROACT_{form}.csv", old / name)
    found = {s.schema.name: s.path for s in discover_proact(old)}
    assert {f for f, p in found.items() if p is None} == {"ELESCORIAL", "HANDGRIPSTRENGTH", "MUSCLESTRENGTH"}
    results = load_all(con, old, small_data / "pms")
    assert len(results) == len(PROACT_TABLES) + len(PMS_TABLES)
    assert con.execute("SELECT count(*) FROM raw.proact_elescorial").fetchone()[0] == 0
    for r in results:
        if r.path is not None:
            _assert_reconciled(con, r)
            assert r.rows_quarantined == 0, (r.table, r.quarantine_reasons)


def test_a_missing_required_file_and_an_ambiguous_form_fail(small_data, tmp_path, con):
    folder = tmp_path / "p"
    folder.mkdir()
    os.link(small_data / "proact" / "PROACT_ALSFRS.csv", folder / "PROACT_ALSFRS.csv")
    missing = next(s for s in discover_proact(folder) if s.schema.name == "DEATHDATA")
    with pytest.raises(IngestError, match="required PRO-ACT file is missing") as err:
        load_source(con, missing)
    assert err.value.file == str(folder / "PROACT_DEATHDATA.csv")  # the real folder, never a placeholder
    os.link(small_data / "proact" / "PROACT_ALSFRS.csv", folder / "alsfrs.csv")
    with pytest.raises(DiscoveryError, match="two files for PRO-ACT form ALSFRS"):
        discover_proact(folder)


def test_the_newest_pms_export_is_chosen(small_data, tmp_path):
    assert newest_pms_export(small_data / "pms").name == "pms_export_2022-01-31"
    (tmp_path / "pms_export_2019-01-01").mkdir()
    (tmp_path / "pms_export_2023-06-30").mkdir()
    (tmp_path / "pms_export_latest").mkdir()  # not a dated delivery
    assert newest_pms_export(tmp_path).name == "pms_export_2023-06-30"


def test_an_earlier_cut_takes_the_newest_export_on_or_before_its_date(tmp_path):
    from datetime import date

    for name in ("pms_export_2019-12-31", "pms_export_2022-01-31", "pms_export_2023-06-30", "pms_export_latest"):
        (tmp_path / name).mkdir()
    assert newest_pms_export(tmp_path, date(2022, 1, 31)).name == "pms_export_2022-01-31"  # on the date
    assert newest_pms_export(tmp_path, date(2022, 1, 30)).name == "pms_export_2019-12-31"  # before it
    assert newest_pms_export(tmp_path, date(2030, 1, 1)).name == "pms_export_2023-06-30"  # after every export
    with pytest.raises(DiscoveryError) as err:
        newest_pms_export(tmp_path, date(2019, 12, 30))
    message = str(err.value)
    assert str(tmp_path) in message and "2019-12-30" in message
    assert "2019-12-31, 2022-01-31, 2023-06-30" in message  # the dates found, so the user can pick one


# ---------------------------------------------------------------- PMS manifest


@pytest.fixture()
def export(small_data, tmp_path) -> Path:
    out = tmp_path / "pms" / "pms_export_2022-01-31"
    out.mkdir(parents=True)
    for f in (small_data / "pms" / "pms_export_2022-01-31").iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    return out


def _edit_manifest(export: Path, edit) -> None:
    manifest = json.loads((export / "manifest.json").read_text())
    edit(manifest)
    (export / "manifest.json").write_text(json.dumps(manifest))


def test_a_delivered_export_reconciles_with_its_manifest(export):
    for name in ("dm.csv", "ae.csv", "qs.csv"):
        assert reconcile(export, name).ok


@pytest.mark.parametrize("defect,message", [
    ("rows", "manifest declares"), ("sha", "differs from the manifest"), ("unlisted", "not listed"),
    ("no_manifest", "manifest.json missing"), ("not_json", "manifest is not valid"), ("edited_file", "manifest declares"),
])
def test_a_manifest_that_disagrees_fails_naming_the_file(export, defect, message):
    if defect == "rows":
        _edit_manifest(export, lambda m: m["files"]["ae.csv"].update(rows=m["files"]["ae.csv"]["rows"] + 1))
    elif defect == "sha":
        _edit_manifest(export, lambda m: m["files"]["ae.csv"].update(sha256="0" * 64))
    elif defect == "unlisted":
        _edit_manifest(export, lambda m: m["files"].pop("ae.csv"))
    elif defect == "no_manifest":
        (export / "manifest.json").unlink()
    elif defect == "not_json":
        (export / "manifest.json").write_text("{not json")
    elif defect == "edited_file":
        with (export / "ae.csv").open("a") as handle:
            handle.write(handle.name and "NR-PMS,NR-PMS-101-0001,999,x,Back pain,Musculoskeletal\n")
    with pytest.raises(IngestError, match=message) as err:
        reconcile(export, "ae.csv")
    assert "ae.csv" in str(err.value) or "manifest.json" in str(err.value)


# ---------------------------------------------------------------- pseudonyms


def test_the_key_file_is_created_outside_the_repository_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("ALS_ECA_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key = pseudonym_key()
    path = key_file()
    assert path == tmp_path / "config" / "als-eca" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64 and pseudonym_key() == key  # created once, then reused
    monkeypatch.setenv("ALS_ECA_PSEUDONYM_KEY", "from-env")
    assert pseudonym_key() == b"from-env"


def test_the_same_patient_gets_the_same_pseudonym_in_every_export_and_another_key_another(tmp_path, con):
    def load(key: bytes) -> set[str]:
        load_file(con, DM, _pms_dm(tmp_path), key=key)
        return {r[0] for r in con.execute("SELECT USUBJID FROM raw.pms_dm").fetchall()}

    assert load(KEY) == load(KEY)
    assert load(KEY) != load(b"another key")


# ---------------------------------------------------------------- the sample and the file statistics


def test_the_generated_sample_loads_with_nothing_quarantined(small_data, con, pseudonym_key):
    for result in load_all(con, small_data / "proact", small_data / "pms"):
        assert result.rows_quarantined == 0, (result.table, result.quarantine_reasons)
        _assert_reconciled(con, result)


def test_file_stats_counts_lines_and_blank_lines_across_block_boundaries(tmp_path, monkeypatch):
    rng = random.Random(3)
    real_open = Path.open
    for trial in range(150):
        parts = [rng.choice([b"a,b", b"", b"xyz", b"\r"]) for _ in range(rng.randint(0, 25))]
        data = rng.choice([b"\n", b"\r\n"]).join(parts) + (b"\n" if rng.random() < 0.5 else b"")
        path = _write(tmp_path / f"f{trial}.csv", data)
        lines = data.split(b"\n")
        expected_lines = len(lines) - 1 + (1 if lines[-1] else 0)
        expected_blank = sum(1 for line in lines[:-1] if line in (b"", b"\r"))
        for block in (1, 2, 3, 7):
            def small_reads(self, *args, _block=block, **kwargs):
                handle = real_open(self, *args, **kwargs)
                read = handle.read
                handle.read = lambda n=-1: read(_block)
                return handle

            monkeypatch.setattr(Path, "open", small_reads)
            stats = checksum.file_stats(path)
            monkeypatch.setattr(Path, "open", real_open)
            assert (stats.lines, stats.blank_lines) == (expected_lines, expected_blank), (data, block)
        assert checksum.file_stats(path).sha256 == checksum.sha256_file(path)
