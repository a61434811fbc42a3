"""The study spec: one YAML file (studies/nam2023.yml) that states every choice of a study - cohort rules, time
zero, covariates, matching, outcome and censoring, RMST horizon, the analyses to run and the safety window - and
drives the dbt vars and the analysis. A second file is a second study (`als-eca run --study FILE`, the `study`
resource in the Dagster launchpad, `als-eca analyze --study FILE`).

Validated by a typed schema (pydantic): a wrong key or value is an error naming the key and the allowed values.
Its hash (sha256 of the file's bytes) and full text are recorded in results.json and the report.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from als_eca.settings import REPO_ROOT

DEFAULT_STUDY = REPO_ROOT / "studies" / "nam2023.yml"

AnalysisName = Literal["replication", "aligned"]
SensitivityName = Literal["ps_with_speed", "speed_iqr", "within_followup"]
Covariate = Literal["age", "sex", "onset_site", "alsfrs_r_baseline", "riluzole", "disease_duration_months"]
#: Spec covariate names -> the numeric columns of the PS design (analytics.propensity.design_covariates).
PS_COLUMN = {"age": "age", "sex": "sex_male", "onset_site": "onset_bulbar", "alsfrs_r_baseline": "alsfrs_r_baseline",
             "riluzole": "riluzole", "disease_duration_months": "disease_duration_months"}


class StudySpecError(ValueError):
    """A study spec that cannot be used, named with its file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cohort(_Strict):
    max_disease_duration_months: float = Field(gt=0, description="Symptom duration (PMS) / onset to trial start "
                                                                 "(PRO-ACT) below this many months.")
    onset_imputation: Literal["diagnosis_minus_fixed_days"] = "diagnosis_minus_fixed_days"
    onset_before_diagnosis_days: int = Field(ge=0, description="Where onset is imputed: diagnosis - this many days.")
    death_window_min_days: int = Field(ge=0, description="Aligned outcome: a PRO-ACT death counts within one visit "
                                                         "spacing of the last ALSFRS visit, at least this many days.")


class TimeZero(_Strict):
    replication: Literal["index"] = "index"  # PMS first injection, PRO-ACT trial day 0
    aligned: Literal["second_alsfrs_r_after_index"] = "second_alsfrs_r_after_index"


class Covariates(_Strict):
    propensity: tuple[Covariate, ...] = Field(min_length=1)
    cox_cut_points: dict[Literal["alsfrs_r_baseline", "age"], float]

    @field_validator("propensity")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("each covariate once")
        return value

    @field_validator("cox_cut_points")
    @classmethod
    def _both_cuts(cls, value: dict) -> dict:
        if set(value) != {"alsfrs_r_baseline", "age"}:
            raise ValueError("needs both alsfrs_r_baseline and age")
        return value


class Matching(_Strict):
    method: Literal["nearest"] = "nearest"
    distance: Literal["glm"] = "glm"
    order: Literal["largest"] = "largest"  # MatchIt's m.order default for a PS: largest score first
    ratio: int = Field(1, ge=1, le=10)
    caliper: float | None = Field(None, gt=0, description="In SDs of the propensity score; null: none.")
    replace: Literal[False] = False


class Outcome(_Strict):
    replication: Literal["death_any_day_survivors_censored_at_last_visit"] = \
        "death_any_day_survivors_censored_at_last_visit"
    aligned: Literal["death_within_observation_window"] = "death_within_observation_window"


class Rmst(_Strict):
    tau_days: float | None = Field(None, gt=0, description="null: the horizon rule (min_at_risk in both arms).")
    min_at_risk: int = Field(10, ge=1)


class Safety(_Strict):
    # Days after the first injection: the dbt var safety_window_days (fct_adverse_event.within_safety_window) and
    # the analysis' exposure cut-off, one number for both. The paper's one year by default.
    window_days: int = Field(365, ge=1, le=3650)
    meddra_version: str = Field(min_length=1)
    min_pct: dict[Literal["ae", "adr", "sae"], float]


class StudySpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Names the study's outputs.")
    title: str
    reference: str = ""
    cohort: Cohort
    time_zero: TimeZero = TimeZero()
    covariates: Covariates
    matching: Matching = Matching()
    outcome: Outcome = Outcome()
    rmst: Rmst = Rmst()
    survival_times_days: tuple[int, ...] = Field(min_length=1)
    analyses: tuple[AnalysisName, ...] = Field(min_length=1)
    sensitivity: tuple[SensitivityName, ...] = ()
    safety: Safety

    def dbt_vars(self) -> dict:
        """The dbt vars this spec sets (dbt_project.yml holds nam2023's values as defaults, for `dbt parse`)."""
        return {"max_disease_duration_months": self.cohort.max_disease_duration_months,
                "onset_before_diagnosis_days": self.cohort.onset_before_diagnosis_days,
                "death_window_min_days": self.cohort.death_window_min_days,
                "safety_window_days": self.safety.window_days}

    def analysis_options(self) -> dict:
        """Keyword arguments of analytics.study.run_matched_analysis (and of every step that calls it)."""
        return {"tau": self.rmst.tau_days, "caliper": self.matching.caliper, "ratio": self.matching.ratio,
                "rmst_min_at_risk": self.rmst.min_at_risk, "survival_times": self.survival_times_days,
                "alsfrs_cut": self.covariates.cox_cut_points["alsfrs_r_baseline"],
                "age_cut": self.covariates.cox_cut_points["age"],
                "ps_covariates": tuple(PS_COLUMN[c] for c in self.covariates.propensity)}


class LoadedStudy:
    """A validated spec with the file it came from: its text and hash are provenance."""

    def __init__(self, path: Path, text: str, spec: StudySpec):
        self.path, self.text, self.spec = path, text, spec

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def provenance(self) -> dict:
        return {"id": self.spec.id, "file": str(self.path), "sha256": self.sha256, "text": self.text}


def _where(error: dict) -> str:
    return ".".join(str(p) for p in error["loc"]) or "(top level)"


def _message(path: Path | str, exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        msg = e["msg"]
        if e["type"] == "literal_error":
            msg = f"{e['input']!r} is not allowed; allowed: {e['ctx']['expected']}"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "missing"
        lines.append(f"{path}: {_where(e)}: {msg}")
    return "\n".join(lines)


def load_study(path: Path | str | None = None) -> LoadedStudy:
    """Read and validate a study spec (default studies/nam2023.yml). Raises StudySpecError naming the file and
    each offending key with its allowed values."""
    path = Path(path) if path is not None else DEFAULT_STUDY
    if not path.is_file():
        raise StudySpecError(f"{path}: no such study spec")
    text = path.read_text(encoding="utf-8")
    return LoadedStudy(path.resolve(), text, parse_study(text, path))


def parse_study(text: str, where: Path | str = "study spec") -> StudySpec:
    """A spec's text validated (what load_study reads; also a recorded spec read back from provenance)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StudySpecError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudySpecError(f"{where}: a study spec is a mapping of keys (id, title, cohort, ...)")
    try:
        return StudySpec.model_validate(data)
    except ValidationError as exc:
        raise StudySpecError(_message(where, exc)) from None
