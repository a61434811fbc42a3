"""The generator writes exactly the real formats, deterministically, calibrated to the paper's figures."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pandas as pd

import synthetic
from synthetic.formats import PMS_COLUMNS, PROACT_COLUMNS
from synthetic.measure import (
    cross_file_figures,
    files_table,
    matched_outcome,
    measure,
    outcome_table,
    proact_subjects,
    subjects_across_files,
    table,
)

SPEC_FORMS = ["ADVERSEEVENTS", "ALSFRS", "ALSHISTORY", "CONMEDS", "DEATHDATA", "DEMOGRAPHICS", "ELESCORIAL",
              "FAMILYHISTORY", "FVC", "HANDGRIPSTRENGTH", "LABS", "MUSCLESTRENGTH", "RILUZOLE", "SVC", "TREATMENT",
              "VITALSIGNS"]


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def test_proact_files_names_headers_and_line_ends(small_data):
    folder = small_data / "proact"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"PROACT_{f}.csv" for f in SPEC_FORMS)
    for form in SPEC_FORMS:
        path = folder / f"PROACT_{form}.csv"
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
        raw.decode("ascii")  # PRO-ACT files are ASCII
        assert raw.count(b"\r\n") == raw.count(b"\n"), f"{path.name}: CRLF line ends only"
        assert _header(path) == PROACT_COLUMNS[form]
    # headers quoted from the spec, for the files analyses depend on
    assert _header(folder / "PROACT_DEATHDATA.csv") == ["subject_id", "Subject_Died", "Death_Days"]
    assert _header(folder / "PROACT_TREATMENT.csv") == ["subject_id", "Study_Arm", "Treatment_Group_Delta"]
    assert _header(folder / "PROACT_SVC.csv")[3] == "Subject_Liters__Trial_2_"
    assert _header(folder / "PROACT_ELESCORIAL.csv") == ["subject_id", "el_escorial", "delta_days"]


def test_proact_codings_and_quirks(small_data):
    folder = small_data / "proact"
    read = lambda f: pd.read_csv(folder / f"PROACT_{f}.csv", dtype=str, keep_default_na=False)  # noqa: E731
    alsfrs = read("ALSFRS")
    assert set(read("TREATMENT")["Study_Arm"]) == {"Active", "Placebo"}
    assert set(read("DEATHDATA")["Subject_Died"]) <= {"Yes", "No"}
    assert set(read("DEMOGRAPHICS")["Sex"]) <= {"Male", "Female", ""}
    assert set(read("RILUZOLE")["Subject_used_Riluzole"]) <= {"Yes", "No"}
    assert set(read("ELESCORIAL")["el_escorial"]) <= {"Definite", "Probable", "Probable Laboratory Supported",
                                                      "Possible", "Suspected"}
    hist = read("ALSHISTORY")
    text_rows = hist["Site_of_Onset"] != ""
    flag_rows = (hist["Site_of_Onset___Bulbar"] != "") | (hist["Site_of_Onset___Limb"] != "")
    assert text_rows.any() and flag_rows.any() and not (text_rows & flag_rows).any(), "two encodings, never on one row"
    assert set(hist.loc[text_rows, "Site_of_Onset"]) <= {"Onset: Limb", "Onset: Bulbar", "Onset: Other",
                                                          "Onset: Spine", "Onset: Limb and Bulbar"}
    items = alsfrs[["Q1_Speech", "R_1_Dyspnea"]].replace("", None).astype(float)
    assert items.min().min() >= 0 and items.max().max() <= 4
    assert (items["Q1_Speech"] % 1 == 0.5).any(), "half points on the original scale"
    kinds = pd.DataFrame({"orig": alsfrs["ALSFRS_Total"] != "", "rev": alsfrs["ALSFRS_R_Total"] != ""})
    assert (kinds.orig & ~kinds.rev).any() and (~kinds.orig & kinds.rev).any() and (kinds.orig & kinds.rev).any()
    assert alsfrs.duplicated(["subject_id", "ALSFRS_Delta"]).any(), "duplicate (subject, delta) pairs"
    assert not alsfrs.duplicated().any(), "no fully duplicated rows"
    assert not alsfrs["subject_id"].astype(int).is_monotonic_increasing, "rows are not sorted"
    death = read("DEATHDATA")
    assert death["subject_id"].duplicated().sum() == 1, "one subject twice, with two Death_Days"
    assert (death.loc[death["Subject_Died"] == "No", "Death_Days"] == "").all()
    assert (read("LABS")["Test_Result"] == "-").any()
    for form in SPEC_FORMS:  # the loader quarantines exact duplicate lines; the generator writes none
        assert not read(form).duplicated().any(), f"{form}: an exact duplicate line"
    assert set(read("DEMOGRAPHICS")["subject_id"]) > set(read("TREATMENT")["subject_id"]), "subjects in some files only"


def test_subjects_spread_over_files_as_in_the_real_download(small_data):
    """Subjects without a TREATMENT row (arm unknown) carry full clinical data elsewhere, TREATMENT subjects may
    lack assessments, and measurement files have subjects (and visit days) of their own."""
    folder = small_data / "proact"
    read = lambda f: pd.read_csv(folder / f"PROACT_{f}.csv", dtype=str, keep_default_na=False)  # noqa: E731
    demo, treat = set(read("DEMOGRAPHICS")["subject_id"]), read("TREATMENT")
    arm = set(treat["subject_id"])
    ids = {form: set(read(form)["subject_id"]) for form in SPEC_FORMS}
    for form, subjects in ids.items():
        assert subjects <= demo, f"{form}: every subject is in DEMOGRAPHICS"
    for form in ("ALSFRS", "ALSHISTORY", "RILUZOLE", "DEATHDATA", "SVC", "FVC", "ELESCORIAL", "HANDGRIPSTRENGTH"):
        assert ids[form] - arm, f"{form} holds subjects without a TREATMENT row"
    s = proact_subjects(small_data)
    no_arm = s[s["arm"].isna()]
    full = no_arm[no_arm["in_alsfrs"] & no_arm["in_history"] & no_arm["criteria_but_arm"]]
    assert len(full) >= 5, "subjects with unknown arm meeting every placebo-control criterion but the arm"
    assert not s.loc[s["arm"].isna(), "control"].any(), "an unknown arm is never placebo"
    placebo = set(treat.loc[treat["Study_Arm"] == "Placebo", "subject_id"])
    assert placebo - ids["ALSFRS"] and (arm - placebo) - ids["ALSFRS"], "TREATMENT subjects without ALSFRS rows"
    for form, delta in (("FVC", "Forced_Vital_Capacity_Delta"), ("SVC", "Slow_vital_Capacity_Delta"),
                        ("HANDGRIPSTRENGTH", "MS_Delta")):
        frame = read(form)
        own = frame[~frame["subject_id"].isin(ids["ALSFRS"])]
        assert len(own) and (own[delta] != "").any(), f"{form}: subjects without ALSFRS rows, with visit days"
        assert own.groupby("subject_id")[delta].nunique().max() > 1 or form == "HANDGRIPSTRENGTH"


def test_pms_exports_manifest_identifiers_and_dates(small_data):
    exports = sorted((small_data / "pms").iterdir())
    assert [p.name for p in exports] == ["pms_export_2019-12-31", "pms_export_2022-01-31"]
    for folder in exports:
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["export_date"] == folder.name.removeprefix("pms_export_")
        assert set(manifest["files"]) == {f"{d}.csv" for d in PMS_COLUMNS}
        for domain, columns in PMS_COLUMNS.items():
            path = folder / f"{domain}.csv"
            assert _header(path) == columns
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert manifest["files"][path.name]["rows"] == len(frame)
            assert manifest["files"][path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    latest, earlier = exports[1], exports[0]
    dm = pd.read_csv(latest / "dm.csv", dtype=str, keep_default_na=False)
    assert dm["USUBJID"].str.fullmatch(r"NR-PMS-\d{3}-\d{4}").all() and dm["USUBJID"].is_unique
    # NR-PMS-<SITEID>-<SUBJID>: the site-local number
    assert (dm["USUBJID"].str[7:10] == dm["SITEID"]).all() and (dm["USUBJID"].str[-4:] == dm["SUBJID"]).all()
    assert (dm["PATINIT"] != "").all() and (dm["MRN"] != "").all() and (dm["BRTHDTC"] != "").all()
    assert set(dm["SEX"]) <= {"M", "F"}
    earlier_dm = pd.read_csv(earlier / "dm.csv", dtype=str, keep_default_na=False)
    assert set(earlier_dm["USUBJID"]) <= set(dm["USUBJID"]), "cumulative: a newer export repeats earlier patients"
    ds = pd.read_csv(latest / "ds.csv", dtype=str, keep_default_na=False)
    deaths = ds[ds["DSDECOD"] == "DEATH"].set_index("USUBJID")["DSSTDTC"]
    assert dm.loc[dm["DTHDTC"] != ""].set_index("USUBJID")["DTHDTC"].sort_index().equals(deaths.sort_index())
    ex = pd.read_csv(latest / "ex.csv", dtype=str)
    assert set(ex["EXCAT"]) <= {"CYCLE 1", "BOOSTER"}
    qs = pd.read_csv(latest / "qs.csv", dtype=str)
    assert set(qs["QSTESTCD"]) == {f"ALSFRS{i:02d}" for i in range(1, 13)} | {"ALSFRSTO"}


def test_default_scale_calibration_and_rare_quirks(tmp_path):
    """At the paper's scale: every calibration figure within tolerance (printed beside the paper's), and the
    rare quirks (partial dates, the legacy site, Korean verbatims) present."""
    out = tmp_path
    synthetic.generate(out, scale=1.0)
    latest = out / "pms" / "pms_export_2022-01-31"
    mh = pd.read_csv(latest / "mh.csv", dtype=str, keep_default_na=False)
    onset = mh.loc[mh["MHCAT"] == "ALS SYMPTOM ONSET", "MHSTDTC"]
    assert onset.str.fullmatch(r"\d{4}-\d{2}").any() and onset.str.fullmatch(r"\d{4}").any()
    assert onset.str.fullmatch(r"\d{8}").any(), "the legacy site's YYYYMMDD"
    ae = pd.read_csv(latest / "ae.csv", dtype=str, keep_default_na=False)
    assert ae["AETERM"].str.contains("요통").any()
    figures = measure(out)
    print("\n" + table(figures))
    assert all(f.ok for f in figures), [f for f in figures if not f.ok]
    # The real download's structure across files: subjects per file and of them without a TREATMENT row, subjects
    # with clinical data but no trial arm, TREATMENT subjects without assessments, the controls' deaths.
    files, cross = subjects_across_files(out), cross_file_figures(out)
    print("\n" + files_table(files) + "\n\n" + table(cross, reference="real download"))
    assert all(f.ok for f in files + cross), [f for f in files + cross if not f.ok]
    # The matched analysis under the paper's rules beside the paper's Results (the control deaths beside the real
    # download's share, which wins where the two cannot both hold).
    outcome = matched_outcome(out)
    print("\n" + outcome_table(outcome))
    assert all(f.ok for f in outcome), [f for f in outcome if not f.ok]
    # No injection is recorded after a patient's death (boosters happen only while the patient is alive).
    dm = pd.read_csv(latest / "dm.csv", dtype=str, keep_default_na=False).set_index("USUBJID")
    ex = pd.read_csv(latest / "ex.csv", dtype=str, keep_default_na=False)
    death = pd.to_datetime(ex["USUBJID"].map(dm["DTHDTC"]).str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True))
    given = pd.to_datetime(ex["EXSTDTC"].str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True))
    assert death.notna().any() and not (given > death).any()


def test_same_seed_gives_identical_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((a, 3), (b, 3), (c, 4)):
        synthetic.generate(folder, seed=seed, scale=0.02)

    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_summary_reports_true_parameters(tmp_path):
    summary = synthetic.generate(tmp_path, scale=0.02)
    assert 0 < summary.true_treatment_hr < 1
    assert summary.rows["PROACT_ALSFRS.csv"] > 0


def test_pms_subject_numbers_keep_the_export_format_at_100x():
    import numpy as np

    from synthetic.pms import simulate_patients

    patients = simulate_patients(np.random.default_rng(7), 25_700)  # the PMS patients of a scale-100 sample
    assert patients["usubjid"].str.fullmatch(r"NR-PMS-\d{3}-\d{4}").all() and patients["usubjid"].is_unique
