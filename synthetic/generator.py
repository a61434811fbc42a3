"""`generate()`: write the synthetic PRO-ACT download and two cumulative PMS exports."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from als_eca.ingest.checksum import sha256_file
from synthetic import calibration as cal
from synthetic import pms, proact
from synthetic.formats import PMS_COLUMNS, PROACT_COLUMNS, proact_file_name

CHUNK_SUBJECTS = 20_000  # fixed, so files depend on (seed, scale) only, and memory stays bounded
PMS_CHUNK_PATIENTS = 2_000
GENERATION_FILE = "generation.json"
# The true marginal HR's horizon: about the analyses' follow-up (the matched sets' last times, ~4 years).
MARGINAL_HR_HORIZON_DAYS = 1_500.0


@dataclass
class GenerationSummary:
    out_dir: str
    seed: int
    scale: float
    true_treatment_hr: float
    hidden_selection: bool
    complete_death_records: bool
    true_marginal_hr_treated: float
    proact_subjects: int
    pms_patients: int
    rows: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"seed {self.seed}, scale {self.scale}: {self.proact_subjects} PRO-ACT subjects, "
                 f"{self.pms_patients} PMS patients, true treatment HR {self.true_treatment_hr}"]
        lines += [f"  {name}: {n} rows" for name, n in sorted(self.rows.items())]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def _write(frame: pd.DataFrame, path: Path, columns: list[str], header: bool, crlf: bool) -> None:
    frame = frame.reindex(columns=columns).fillna("")
    frame.to_csv(path, mode="w" if header else "a", header=header, index=False,
                 lineterminator="\r\n" if crlf else "\n", encoding="utf-8")


def _generate_proact(out: Path, rng_root: np.random.SeedSequence, scale: float, progress: bool,
                     complete_death_records: bool) -> tuple[int, dict]:
    out.mkdir(parents=True, exist_ok=True)
    total = max(20, round(cal.PROACT_DEMOGRAPHICS_SUBJECTS * scale))
    design_seed, *chunk_seeds = rng_root.spawn(1 + -(-total // CHUNK_SUBJECTS))
    trials = proact.trial_design(np.random.default_rng(design_seed))
    rows = {form: 0 for form in PROACT_COLUMNS}
    for c, seed in enumerate(tqdm(chunk_seeds, desc="PRO-ACT", unit="chunk", disable=not progress)):
        rng = np.random.default_rng(seed)
        start = c * CHUNK_SUBJECTS
        ids = proact.subject_ids(start, min(CHUNK_SUBJECTS, total - start), total)
        subjects = proact.simulate_subjects(rng, ids, trials)
        visits = proact.course(rng, subjects)
        tables = {"ALSFRS": proact.alsfrs_rows(rng, subjects, visits)}
        tables["DEATHDATA"] = proact.deathdata_rows(rng, subjects, proact.last_visit(subjects, visits),
                                                    complete_death_records)
        if c == 0 and len(tables["DEATHDATA"]):  # the real file has one subject twice, with two Death_Days
            dead = tables["DEATHDATA"][tables["DEATHDATA"]["Death_Days"] != ""].head(1).copy()
            dead["Death_Days"] = (pd.to_numeric(dead["Death_Days"]) + 12).astype(int).astype(str)
            tables["DEATHDATA"] = pd.concat([tables["DEATHDATA"], dead], ignore_index=True)
        tables["ALSHISTORY"] = proact.history_rows(rng, subjects)
        tables.update(proact.small_tables(rng, subjects, tables["ALSFRS"], visits))
        for form, columns in PROACT_COLUMNS.items():
            frame = tables[form]
            frame = frame.iloc[rng.permutation(len(frame))]  # real files are not sorted
            _write(frame, out / proact_file_name(form), columns, header=c == 0, crlf=True)
            rows[form] += len(frame)
    return total, rows


def marginal_hr_treated(patients: pd.DataFrame, horizon: float = MARGINAL_HR_HORIZON_DAYS) -> float:
    """The true marginal HR among the treated (ATT): a Cox model of each planned-booster-or-cycle patient's two
    potential death days (treated, untreated; the same draw), administratively censored at `horizon`. Below the
    conditional `true_hr` in strength: the prognostic factors the model leaves out (progression rate above all)
    make the HR non-collapsible. The simulation audit reports bias against both."""
    from analytics.cox import fit_cox

    p = patients[patients["pattern"] != "single-injection"]
    t = np.concatenate([p["death_day"].to_numpy(float), p["death_day_untreated"].to_numpy(float)])
    x = pd.DataFrame({"treated": np.repeat([1.0, 0.0], len(p))})
    return float(np.exp(fit_cox(np.minimum(t, horizon), (t <= horizon).astype(int), x).coef[0]))


def _generate_pms(out: Path, seed: np.random.SeedSequence, scale: float, true_hr: float,
                  hidden_selection: bool) -> tuple[int, dict, float]:
    rng = np.random.default_rng(seed)
    n = max(8, round(cal.PMS_PATIENTS * scale))
    patients = pms.simulate_patients(rng, n, true_hr, hidden_selection)
    inj = pms.injections(rng, patients)
    qs = pms.assessments(rng, patients)
    ae = pms.adverse_events(rng, patients, inj)
    rows = {}
    for cutoff, corrections in ((cal.PMS_EARLIER_CUTOFF, True), (cal.PMS_END, False)):
        folder = out / f"pms_export_{cutoff}"
        folder.mkdir(parents=True, exist_ok=True)
        counts = dict.fromkeys(PMS_COLUMNS, 0)
        # Written in patient chunks: the long ALSFRS-R table is the largest and grows with follow-up.
        for start in range(0, n, PMS_CHUNK_PATIENTS):
            tables = pms.export_tables(rng, patients, inj, qs, ae, np.datetime64(cutoff), corrections,
                                       patients=slice(start, start + PMS_CHUNK_PATIENTS))
            for domain, columns in PMS_COLUMNS.items():
                _write(tables[domain], folder / f"{domain}.csv", columns, header=start == 0, crlf=False)
                counts[domain] += len(tables[domain])
        manifest = {"export_date": cutoff, "files": {}}
        for domain, count in counts.items():
            path = folder / f"{domain}.csv"
            manifest["files"][path.name] = {"rows": count, "sha256": sha256_file(path)}
            rows[f"pms_export_{cutoff}/{domain}"] = count
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return n, rows, marginal_hr_treated(patients)


def generate(out_dir: Path, seed: int = 20230401, scale: float = 1.0, progress: bool = False,
             true_hr: float = cal.TRUE_TREATMENT_HR, hidden_selection: bool = True,
             complete_death_records: bool = False) -> GenerationSummary:
    """Write `out_dir/proact/PROACT_*.csv`, `out_dir/pms/pms_export_<date>/` (two cumulative exports) and
    `out_dir/generation.json` (what made them, with the truth: this marks the data as synthetic).

    The same arguments give byte-identical files. `scale` multiplies subject counts; `true_hr` is the treatment's
    conditional HR; `hidden_selection` the selection the PS does not see; `complete_death_records` lists every
    in-trial death in DEATHDATA (not calibrated: the real file's in-window deaths are fewer).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    root = np.random.SeedSequence(seed)
    proact_seed, pms_seed = root.spawn(2)
    n_proact, rows = _generate_proact(out_dir / "proact", proact_seed, scale, progress, complete_death_records)
    n_pms, pms_rows, marginal = _generate_pms(out_dir / "pms", pms_seed, scale, true_hr, hidden_selection)
    summary = GenerationSummary(out_dir=str(out_dir), seed=seed, scale=scale, true_treatment_hr=true_hr,
                                hidden_selection=hidden_selection, complete_death_records=complete_death_records,
                                true_marginal_hr_treated=marginal,
                                proact_subjects=n_proact, pms_patients=n_pms,
                                rows={**{proact_file_name(k): v for k, v in rows.items()}, **pms_rows})
    # (without out_dir: the same arguments give byte-identical files wherever they are written)
    marker = {"synthetic": True, **{k: v for k, v in summary.to_dict().items() if k != "out_dir"}}
    (out_dir / GENERATION_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return summary
