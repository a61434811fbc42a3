"""File-level problems are file-level errors, and counts mean records: encodings, multi-line fields, links,
compressed files. Every fixture is made here from the generated sample."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest import IngestError, discover_pms, discover_proact, load_all, load_source


@pytest.fixture()
def con():
    with duckdb.connect() as c:
        yield c


@pytest.fixture()
def sample(small_data, tmp_path) -> tuple[Path, Path, Path]:
    proact, pms = tmp_path / "proact", tmp_path / "pms"
    shutil.copytree(small_data / "proact", proact)
    shutil.copytree(small_data / "pms", pms)
    return proact, pms, sorted(pms.iterdir())[-1]


def _redeclare(export: Path, **extra) -> None:
    """Rows (CSV records) and checksums of every file as the EDC would declare them, plus top-level keys."""
    import csv
    import io

    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"] = {}
    encoding = extra.get("encoding", "utf-8")
    for path in sorted(export.glob("*.csv*")):
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode(encoding)
        rows = sum(1 for r in csv.reader(io.StringIO(text, newline="")) if r) - 1
        manifest["files"][path.name] = {"rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
    manifest.update(extra)
    (export / "manifest.json").write_text(json.dumps(manifest))


def _korean_ae(export: Path) -> list[str]:
    """ae.csv as a Korean EDC writes it: verbatim terms in Hangul (the generator's own)."""
    text = (export / "ae.csv").read_text(encoding="utf-8")
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text), "the sample has Korean verbatim terms"
    return text.splitlines()


def test_an_ae_file_in_cp949_fails_naming_the_file_the_line_and_the_encoding(sample, con, pseudonym_key):
    proact, pms, export = sample
    lines = _korean_ae(export)
    (export / "ae.csv").write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    _redeclare(export, encoding="cp949")  # (checksums match: the file is what was delivered, in cp949)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest.pop("encoding")  # ... but the export does not say so
    (export / "manifest.json").write_text(json.dumps(manifest))
    first_korean = next(i for i, line in enumerate(lines, 1) if any("\uac00" <= c <= "\ud7a3" for c in line))
    source = next(s for s in discover_pms(pms) if s.schema.name == "ae")
    with pytest.raises(IngestError, match="not valid UTF-8") as err:
        load_source(con, source)
    assert err.value.file == str(export / "ae.csv") and err.value.line == first_korean
    assert "cp949" in str(err.value)


def test_an_export_that_declares_cp949_loads_its_korean_terms(sample, con, pseudonym_key):
    proact, pms, export = sample
    lines = _korean_ae(export)
    (export / "ae.csv").write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    _redeclare(export, encoding="cp949")
    # (every other file of the export is ASCII apart from ae.csv: cp949 reads them the same)
    results = {r.table: r for r in load_all(con, proact, pms)}
    ae = results["pms_ae"]
    assert ae.rows_loaded == len(lines) - 1 and ae.rows_quarantined == 0
    terms = {t for (t,) in con.execute("SELECT AETERM FROM raw.pms_ae").fetchall()}
    assert "요통" in terms  # back pain, decoded
    sha = con.execute("SELECT sha256 FROM raw.load_audit WHERE source_table = 'pms_ae'").fetchone()[0]
    assert sha == hashlib.sha256((export / "ae.csv").read_bytes()).hexdigest()  # the file as delivered


def test_a_quoted_field_with_line_breaks_loads_and_reconciles(sample, con, pseudonym_key):
    proact, pms, export = sample
    lines = (export / "ae.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("AETERM")] = '"back pain,\nworse at night\nafter the injection"'
    lines[1] = ",".join(fields)
    (export / "ae.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _redeclare(export)
    assert json.loads((export / "manifest.json").read_text())["files"]["ae.csv"]["rows"] == len(lines) - 1
    results = {r.table: r for r in load_all(con, proact, pms)}
    ae = results["pms_ae"]
    assert (ae.rows_read, ae.rows_loaded, ae.rows_quarantined) == (len(lines) - 1, len(lines) - 1, 0)
    assert con.execute("SELECT count(*) FROM raw.pms_ae WHERE AETERM LIKE '%worse at night%'").fetchone()[0] == 1


def test_a_dangling_link_for_an_optional_form_is_an_error_not_absent(sample, con, pseudonym_key):
    proact, _, _ = sample
    (proact / "PROACT_LABS.csv").unlink()
    (proact / "PROACT_LABS.csv").symlink_to(proact / "gone.csv")
    source = next(s for s in discover_proact(proact) if s.schema.name == "LABS")
    assert source.path is not None, "found, not absent"
    with pytest.raises(IngestError, match="dangling link") as err:
        load_source(con, source)
    assert err.value.file == str(proact / "PROACT_LABS.csv")


def test_compressed_files_are_read(sample, con, pseudonym_key):
    proact, pms, export = sample
    for path in (proact / "PROACT_ALSFRS.csv", proact / "PROACT_LABS.csv", export / "qs.csv"):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    _redeclare(export)
    found = {s.schema.table: s.path for s in (*discover_proact(proact), *discover_pms(pms))}
    assert found["proact_alsfrs"].name == "PROACT_ALSFRS.csv.gz" and found["pms_qs"].name == "qs.csv.gz"
    results = {r.table: r for r in load_all(con, proact, pms)}
    for table in ("proact_alsfrs", "proact_labs", "pms_qs"):
        r = results[table]
        assert r.rows_loaded > 0 and r.rows_read == r.rows_loaded + r.rows_quarantined, table


def test_the_download_as_a_zip_archive_is_read(sample, tmp_path, con, pseudonym_key):
    import zipfile

    from als_eca.settings import Settings, preflight

    proact, pms, _ = sample
    archive = tmp_path / "PROACT_2023.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in proact.iterdir():
            zf.write(path, f"PROACT_download/{path.name}")  # wrapped in a folder, as archives often are
    found = {s.schema.name: s.path for s in discover_proact(archive)}
    assert all(p is not None for p in found.values()) and found["ALSFRS"].name == "PROACT_ALSFRS.csv"
    from_zip = {r.table: r.rows_loaded for r in load_all(con, archive, pms)}
    with duckdb.connect() as other:
        from_folder = {r.table: r.rows_loaded for r in load_all(other, proact, pms)}
    assert from_zip == from_folder
    preflight(Settings(proact_dir=archive, pms_dir=pms, warehouse=tmp_path / "w" / "warehouse.duckdb",
                       snapshot_dir=tmp_path / "snap"))  # accepted as --proact


def test_quarantine_lines_are_physical_lines_after_multi_line_fields_and_blank_lines(tmp_path, con):
    from als_eca.ingest.loader import load_file
    from als_eca.ingest.schemas import by_table

    text = ("subject_id,Subject_Died,Death_Days\n"  # 1
            '1,"Ye\ns",10\n'  # 2-3: a field with a line break (a parser reject: not a known coding... kept as text)
            "\n"  # 4: blank
            "2,Yes,abc\n"  # 5: parser reject
            "3,Yes,5\n"  # 6
            "-4,Yes,1\n"  # 7: rule
            "3,Yes,5\n"  # 8: exact duplicate of 6
            '5,"N\n\no",\n'  # 9-11: a field with two line breaks
            "-5,No,\n")  # 12: rule
    path = tmp_path / "PROACT_DEATHDATA.csv"
    path.write_text(text)
    result = load_file(con, by_table("proact_deathdata"), path)
    found = con.execute("SELECT line, reason FROM raw.quarantine ORDER BY line").fetchall()
    assert [line for line, _ in found] == [5, 7, 8, 12]
    assert found[2][1] == "exact duplicate of line 6"
    assert (result.rows_read, result.rows_loaded + result.rows_quarantined) == (7, 7)


def test_quarantine_lines_match_the_physical_lines_on_random_files(tmp_path, con):
    """Random mixes of good rows, parser rejects, rule failures, blank lines and multi-line fields: every
    quarantined row carries the physical line it starts on."""
    import random

    from als_eca.ingest.loader import load_file
    from als_eca.ingest.schemas import by_table

    rng = random.Random(11)
    for trial in range(40):
        lines, bad, line, sid = ["subject_id,Subject_Died,Death_Days"], [], 2, 0
        for _ in range(rng.randint(1, 25)):
            sid += 1
            kind = rng.random()
            if kind < 0.15:
                lines.append("")
                line += 1
                continue
            if kind < 0.3:
                lines.append(f'{sid},"Y\ne\ns",1')
                line += 3
                continue
            if kind < 0.45:
                lines.append(f"{sid},Yes,abc")  # parser reject
                bad.append(line)
            elif kind < 0.6:
                lines.append(f"-{sid},Yes,1")  # rule failure
                bad.append(line)
            else:
                lines.append(f"{sid},No,")
            line += 1
        path = tmp_path / f"t{trial}.csv"
        path.write_text("\r\n".join(lines) + "\r\n")
        load_file(con, by_table("proact_deathdata"), path)
        found = [n for (n,) in con.execute("SELECT line FROM raw.quarantine ORDER BY line").fetchall()]
        assert found == bad, ("\n".join(lines), found, bad)


def test_each_pms_file_is_counted_and_hashed_once(sample, con, pseudonym_key, monkeypatch):
    """The manifest's reconciliation and the load's audit share one pass over the file (also for a transcoded
    file, whose audit checksum is the delivered bytes')."""
    from als_eca.ingest import checksum

    proact, pms, export = sample
    lines = _korean_ae(export)
    (export / "ae.csv").write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    _redeclare(export, encoding="cp949")
    reads: list[str] = []
    real_stats, real_sha = checksum.file_stats, checksum.sha256_file
    monkeypatch.setattr(checksum, "file_stats", lambda p: reads.append(Path(p).name) or real_stats(p))
    monkeypatch.setattr(checksum, "sha256_file", lambda p: reads.append(Path(p).name) or real_sha(p))
    for module in ("als_eca.ingest", "als_eca.ingest.loader", "als_eca.ingest.manifest"):
        if hasattr(__import__(module, fromlist=["_"]), "file_stats"):
            monkeypatch.setattr(f"{module}.file_stats", checksum.file_stats)
    for source in discover_pms(pms):
        if source.path is not None:
            load_source(con, source)
    delivered = [name for name in reads if not name.startswith(("tmp", "."))]  # (the transcoded copy's layout)
    assert sorted(delivered) == sorted(set(delivered)), delivered
    assert "ae.csv" in delivered and "dm.csv" in delivered
    sha = con.execute("SELECT sha256 FROM raw.load_audit WHERE source_table = 'pms_ae'").fetchone()[0]
    assert sha == hashlib.sha256((export / "ae.csv").read_bytes()).hexdigest()
