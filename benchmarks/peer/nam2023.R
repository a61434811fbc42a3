# The peer of `als-eca run`: what a statistician would write instead of the platform to replicate Nam et al. 2023
# (Front. Aging Neurosci. 15:1148444) - one R script in the paper's own tools (data.table, MatchIt, survival).
#
#   Rscript benchmarks/peer/nam2023.R PROACT_DIR PMS_DIR
#
# Reads the PRO-ACT forms it needs and the newest PMS export (`pms_export_YYYY-MM-DD/`, exports are cumulative),
# applies the paper's replication eligibility as docs/study_design.md and the marts state it, fits the PS (glm on
# the paper's six covariates), matches 1:1 nearest neighbour (MatchIt, the PS vector as distance, largest score
# first, no caliper, no replacement), then Kaplan-Meier, log-rank and the paper's Cox model on the matched set.
# Prints one JSON object on stdout: cohort counts, matched pairs, deaths per arm, log-rank, HRs, phase seconds.
#
# What it leaves out, deliberately (a script does not): the schema contract and quarantine of rows that break it,
# exact-duplicate removal, pseudonymisation, manifests, checksums, the dbt tests, the aligned analysis and the
# falsifications, the report. benchmarks/bench_peer.py prints its counts beside the platform's.
suppressPackageStartupMessages({
  library(data.table)
  library(MatchIt)
  library(survival)
  library(jsonlite)
})
setDTthreads(0L)  # all cores, as a user's default session would

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2L) stop("usage: Rscript nam2023.R PROACT_DIR PMS_DIR")
proact_dir <- args[1]
pms_dir <- args[2]

DAYS_PER_MONTH <- 30.44          # the warehouse's month (dbt var days_per_month)
ONSET_BEFORE_DIAGNOSIS <- 365L   # the paper: onset = diagnosis - 12 months where onset is unknown
MAX_DURATION_MONTHS <- 24        # symptom duration at the index below 2 years

timings <- list()
clock <- proc.time()[["elapsed"]]
lap <- function(name) {  # seconds per phase, to show where the peer's time goes
  now <- proc.time()[["elapsed"]]
  timings[[name]] <<- round(now - clock, 3)
  clock <<- now
}

# ---- reading --------------------------------------------------------------------------------------------------
# PRO-ACT names vary by release (PROACT_ALSFRS.csv, alsfrs.csv, F_PROACT_ALSFRS.csv): match the form, any case.
proact_file <- function(form) {
  hits <- list.files(proact_dir, pattern = sprintf("^(f_proact_|proact_)?%s\\.csv(\\.gz)?$", form),
                     ignore.case = TRUE, full.names = TRUE)
  if (length(hits) != 1L) stop(sprintf("PRO-ACT form %s: %d files in %s", form, length(hits), proact_dir))
  hits
}
exports <- sort(list.files(pms_dir, pattern = "^pms_export_[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
if (!length(exports)) stop("no pms_export_YYYY-MM-DD folder in ", pms_dir)
export <- file.path(pms_dir, exports[length(exports)])  # ISO dates sort as text
pms_file <- function(domain) file.path(export, paste0(domain, ".csv"))

# Only the columns the analysis needs; PMS read as text (dates may be partial or legacy YYYYMMDD).
treatment <- fread(proact_file("treatment"), select = c("subject_id", "Study_Arm"))
demographics <- fread(proact_file("demographics"),
                      select = c("subject_id", "Demographics_Delta", "Age", "Date_of_Birth", "Sex"))
history <- fread(proact_file("alshistory"),
                 select = c("subject_id", "Site_of_Onset___Bulbar", "Site_of_Onset___Limb",
                            "Site_of_Onset___Limb_and_Bulbar", "Site_of_Onset___Other", "Site_of_Onset___Spine",
                            "Site_of_Onset", "Onset_Delta", "Diagnosis_Delta"))
alsfrs <- fread(proact_file("alsfrs"), select = c("subject_id", "ALSFRS_Delta", "ALSFRS_R_Total"))
deaths <- fread(proact_file("deathdata"), select = c("subject_id", "Subject_Died", "Death_Days"))
riluzole <- fread(proact_file("riluzole"), select = c("subject_id", "Subject_used_Riluzole"))
pms_read <- function(domain, cols) fread(pms_file(domain), select = cols, colClasses = "character",
                                         na.strings = "", encoding = "UTF-8")
dm <- pms_read("dm", c("USUBJID", "AGE", "SEX", "RFSTDTC", "DTHDTC"))
mh <- pms_read("mh", c("USUBJID", "MHCAT", "MHLOC", "MHSTDTC"))
ex <- pms_read("ex", c("USUBJID", "EXCAT", "EXSTDTC"))
qs <- pms_read("qs", c("USUBJID", "QSSEQ", "QSTESTCD", "QSSTRESN", "QSDTC"))
cm <- pms_read("cm", c("USUBJID", "CMDECOD"))
ds <- pms_read("ds", c("USUBJID", "DSDECOD", "DSSTDTC"))
ae <- pms_read("ae", c("USUBJID", "AESTDTC"))
lap("read")

# ---- PRO-ACT: placebo controls ---------------------------------------------------------------------------------
# Per-subject facts by data.table's grouped min/max/first (its fast path), not an R function per subject: the peer
# should be as quick as a careful statistician would make it.
by_value <- function(f) function(x) {  # f applied once per distinct value (codes repeat)
  u <- unique(x)
  f(u)[match(x, u)]
}
decode <- function(x, map) by_value(function(u) unname(map[tolower(trimws(u))]))(x)
# Placebo: every arm recorded for the subject says so (two different arms: which one is true?).
treatment[, arm := decode(Study_Arm, c(placebo = 1L, active = 0L))]
treatment[, reported := !is.na(Study_Arm) & trimws(Study_Arm) != ""]
arm <- treatment[reported == TRUE, .(placebo = min(fcoalesce(arm, 0L))), by = subject_id][placebo == 1L,
                                                                                              .(subject_id)]

setorder(demographics, subject_id, Demographics_Delta, na.last = TRUE)
demographics[, `:=`(age = fcoalesce(as.numeric(Age), -Date_of_Birth / 365.25),
                    sex = decode(Sex, c(male = "M", female = "F")))]
age <- demographics[, .(age = first(age)), by = subject_id]
# Rows that disagree on sex leave it unknown.
sex <- unique(demographics[!is.na(sex), .(subject_id, sex)])[, n := .N, by = subject_id][n == 1L, !"n"]

# The onset site comes as text ("Onset: Limb") on some rows and as flags on others; the first row with one wins.
site_text <- by_value(function(u) unname(c(bulbar = "bulbar", limb = "limb", `limb and bulbar` = "limb and bulbar",
                                           spine = "spine", other = "other")[
  sub("^\\s*onset:\\s*", "", tolower(trimws(u)))]))(history$Site_of_Onset)
flag <- function(x) !is.na(x) & x == 1
site_flags <- with(history, fcase(flag(Site_of_Onset___Limb_and_Bulbar) |
                                    (flag(Site_of_Onset___Bulbar) & flag(Site_of_Onset___Limb)), "limb and bulbar",
                                  flag(Site_of_Onset___Bulbar), "bulbar", flag(Site_of_Onset___Limb), "limb",
                                  flag(Site_of_Onset___Spine), "spine", flag(Site_of_Onset___Other), "other"))
history[, site := fifelse(!is.na(Site_of_Onset) & Site_of_Onset != "", site_text, site_flags)]
site <- history[!is.na(site), .(site = first(site)), by = subject_id]
onset <- history[!is.na(Onset_Delta), .(onset_day = as.numeric(min(Onset_Delta))), by = subject_id]
diagnosis <- history[!is.na(Diagnosis_Delta), .(diagnosis_day = as.numeric(min(Diagnosis_Delta))), by = subject_id]

# Baseline: the first assessment must carry an ALSFRS-R total; survivors are censored at the last assessment.
visits <- alsfrs[!is.na(ALSFRS_Delta)]
visits[, row := .I]
setorder(visits, subject_id, ALSFRS_Delta, row)
base <- visits[, .(alsfrs_r_baseline = as.numeric(first(ALSFRS_R_Total)), last_day = max(ALSFRS_Delta)),
               by = subject_id]

deaths[, died := decode(Subject_Died, c(yes = TRUE, no = FALSE))]
death <- deaths[died %in% TRUE & !is.na(Death_Days), .(death_day = as.numeric(min(Death_Days))), by = subject_id]
riluzole[, used := decode(Subject_used_Riluzole, c(yes = 1L, no = 0L))]
ril <- riluzole[!is.na(used), .(riluzole = max(used)), by = subject_id]

controls <- Reduce(function(a, b) merge(a, b, by = "subject_id", all.x = TRUE),
                   list(arm, age, sex, site, onset, diagnosis, base, death, ril))
controls[, onset_day := fcoalesce(onset_day, diagnosis_day - ONSET_BEFORE_DIAGNOSIS)]
controls[, `:=`(
  subject_id = as.character(subject_id), treated = 0L, group = "control",
  onset_site = fifelse(site == "bulbar", "bulbar", "limb"),
  disease_duration_months = -onset_day / DAYS_PER_MONTH,
  event = as.integer(!is.na(death_day)),
  time_days = fcoalesce(as.numeric(death_day), as.numeric(last_day)))]

# ---- PMS: treated patients -------------------------------------------------------------------------------------
# PMS dates: ISO, a legacy site's YYYYMMDD, or partial YYYY-MM / YYYY (onset, history). Parsed once per distinct
# text (a column repeats few distinct dates), with the earliest and latest day a partial value allows.
parse_dates <- function(x) {
  u <- unique(x)
  t <- trimws(u)
  t <- fifelse(grepl("^[0-9]{8}$", t), paste(substr(t, 1, 4), substr(t, 5, 6), substr(t, 7, 8), sep = "-"), t)
  precision <- fcase(grepl("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", t), "day", grepl("^[0-9]{4}-[0-9]{2}$", t), "month",
                     grepl("^[0-9]{4}$", t), "year")
  earliest <- as.IDate(fcase(precision == "day", t, precision == "month", paste0(t, "-01"),
                             precision == "year", paste0(t, "-01-01")), format = "%Y-%m-%d")
  y <- year(earliest)
  mo <- month(earliest)
  month_end <- as.IDate(sprintf("%04d-%02d-01", y + (mo == 12L), mo %% 12L + 1L), format = "%Y-%m-%d") - 1L
  latest <- fcase(precision == "day", earliest, precision == "month", month_end,
                  precision == "year", as.IDate(sprintf("%04d-12-31", y), format = "%Y-%m-%d"))
  i <- match(x, u)
  list(date = fifelse(precision[i] == "day", earliest[i], as.IDate(NA)), earliest = earliest[i],
       latest = latest[i], precision = precision[i])
}
norm <- by_value(function(u) toupper(trimws(u)))  # codes: upper case, blanks trimmed
day_date <- function(x) parse_dates(x)$date

ex[, `:=`(date = day_date(EXSTDTC), category = norm(EXCAT))]
inj <- ex[!is.na(date), .(first_injection = min(date), last_injection = max(date), n_injections = .N,
                          n_boosters = sum(category == "BOOSTER", na.rm = TRUE)), by = USUBJID]
pts <- merge(dm, inj, by = "USUBJID", all.x = TRUE)
pts[, index_date := fcoalesce(first_injection, day_date(RFSTDTC))]

# Onset and diagnosis: the earliest record of each; a partial date at mid-period (15th, 1 July), never after the
# first injection; a missing onset is diagnosis - 365 days.
mh[, c("earliest", "precision") := parse_dates(MHSTDTC)[c("earliest", "precision")]]
mh[, mid := fcase(precision == "day", earliest, precision == "month", earliest + 14L,
                  precision == "year", as.IDate(sprintf("%04d-07-01", year(earliest)), format = "%Y-%m-%d"))]
setorder(mh, USUBJID, earliest, na.last = TRUE)
mh[, category := norm(MHCAT)]
onset <- mh[category == "ALS SYMPTOM ONSET", .(onset_mid = first(mid), location = first(MHLOC)), by = USUBJID]
diagnosis <- mh[category == "ALS DIAGNOSIS", .(diagnosis_mid = first(mid)), by = USUBJID]
pts <- merge(merge(pts, onset, by = "USUBJID", all.x = TRUE), diagnosis, by = "USUBJID", all.x = TRUE)
pts[, onset_date := pmin(fcoalesce(onset_mid, diagnosis_mid - ONSET_BEFORE_DIAGNOSIS), index_date, na.rm = TRUE)]
pts[is.na(onset_mid) & is.na(diagnosis_mid), onset_date := NA]

# Riluzole: a RILUZOLE record; none means not used (the export has medication records).
pts[, riluzole := as.integer(USUBJID %chin% cm[norm(CMDECOD) == "RILUZOLE", USUBJID])]
if (!nrow(cm)) pts[, riluzole := NA_integer_]

# ALSFRS-R per assessment date: the recorded total, else the sum of the 12 items when all are there.
qs[, `:=`(date = day_date(QSDTC), score = as.numeric(QSSTRESN), code = norm(QSTESTCD), seq = as.numeric(QSSEQ))]
qs <- qs[!is.na(date)]
codes <- sprintf("ALSFRS%02d", 1:12)
qs[, item := match(code, codes)]
assess <- qs[, .(seq = min(seq)), by = .(USUBJID, date)]
totals <- qs[code == "ALSFRSTO" & !is.na(score), .(total = max(score)), by = .(USUBJID, date)]
items <- qs[!is.na(item) & !is.na(score), .(score = max(score)), by = .(USUBJID, date, item)][
  , .(n = .N, recomputed = sum(score)), by = .(USUBJID, date)][n == 12L]
assess <- merge(merge(assess, totals, by = c("USUBJID", "date"), all.x = TRUE),
                items[, !"n"], by = c("USUBJID", "date"), all.x = TRUE)
assess[, value := fcoalesce(total, recomputed)]
assess <- merge(assess, pts[, .(USUBJID, index_date)], by = "USUBJID")
assess[, day := as.integer(date - index_date)]
setorder(assess, USUBJID, day, seq)
# Baseline: the latest on or before the first injection, else the first within 14 days after.
# (one row per assessment date, so one per day: counting rows counts days)
scored <- assess[!is.na(value)]
frs <- Reduce(function(a, b) merge(a, b, by = "USUBJID", all = TRUE), list(
  assess[, .(last_frs_day = max(day)), by = USUBJID],
  scored[day <= 0, .(pre = last(value)), by = USUBJID],
  scored[day >= 1 & day <= 14, .(early = first(value)), by = USUBJID],
  scored[day > 0, .(n_after = .N), by = USUBJID]))
frs[, alsfrs_r_baseline := fcoalesce(pre, early)]

# Follow-up: death (dm or ds, the earlier), else the latest of last contact, ALSFRS-R, AE onset, injection.
ds[, date := day_date(DSSTDTC)]
ds_death <- ds[norm(DSDECOD) == "DEATH" & !is.na(date), .(ds_death = min(date)), by = USUBJID]
last_contact <- ds[!is.na(date), .(last_contact = max(date)), by = USUBJID]
ae_dates <- parse_dates(ae$AESTDTC)
ae[, c("date", "earliest", "latest") := ae_dates[c("date", "earliest", "latest")]]
ae <- merge(ae, pts[, .(USUBJID, index_date)], by = "USUBJID")
# (a partial date whose period holds the first injection is taken as that day: the usual ADaM convention)
ae[, onset := fcoalesce(date, fifelse(index_date >= earliest & index_date <= latest, index_date, earliest))]
ae[, onset_day := as.integer(onset - index_date)]
last_ae <- ae[!is.na(onset_day), .(last_ae_day = max(onset_day)), by = USUBJID]

pts <- Reduce(function(a, b) merge(a, b, by = "USUBJID", all.x = TRUE), list(pts, frs, ds_death, last_contact, last_ae))
pts[, death_date := pmin(day_date(DTHDTC), ds_death, na.rm = TRUE)]
pts[, `:=`(
  subject_id = USUBJID, treated = 1L,
  group = fcase(n_injections >= 2 & n_boosters > 0, "multiple", n_injections >= 2, "single"),
  age = as.numeric(AGE), sex = fifelse(norm(SEX) %chin% c("M", "F"), norm(SEX), NA_character_),
  onset_site = fifelse(tolower(trimws(location)) == "bulbar", "bulbar", "limb"),
  disease_duration_months = -as.integer(onset_date - index_date) / DAYS_PER_MONTH,
  event = as.integer(!is.na(death_date)),
  time_days = fcoalesce(as.numeric(death_date - index_date),
                        pmax(as.numeric(last_contact - index_date), as.numeric(last_frs_day), as.numeric(last_ae_day),
                             as.numeric(last_injection - index_date), na.rm = TRUE)))]
lap("cohort")

# ---- eligibility (the paper's, replication) ----------------------------------------------------------------------
covs <- c("age", "sex_male", "onset_bulbar", "alsfrs_r_baseline", "riluzole", "disease_duration_months")
keep <- c("subject_id", "treated", "group", "time_days", "event", "age", "sex", "onset_site", "alsfrs_r_baseline",
          "riluzole", "disease_duration_months")
common <- function(d) d$disease_duration_months < MAX_DURATION_MONTHS & !is.na(d$alsfrs_r_baseline) &
  d$time_days >= 0 & !is.na(d$age) & !is.na(d$sex) & !is.na(d$onset_site) & !is.na(d$riluzole)
eligible_controls <- controls[common(controls) %in% TRUE]
eligible_treated <- pts[(common(pts) & n_after >= 2 & n_injections >= 2) %in% TRUE]
cohort <- rbind(eligible_treated[, ..keep], eligible_controls[, ..keep])
cohort[, `:=`(sex_male = as.integer(sex == "M"), onset_bulbar = as.integer(onset_site == "bulbar"))]
setDF(cohort)

# ---- propensity score and 1:1 nearest-neighbour matching (MatchIt) ----------------------------------------------
ps_formula <- reformulate(covs, response = "treated")
ps_fit <- glm(ps_formula, data = cohort, family = binomial)
cohort$ps <- fitted(ps_fit)
m <- matchit(ps_formula, data = cohort, method = "nearest", distance = cohort$ps, m.order = "largest", ratio = 1,
             replace = FALSE)
md <- match.data(m, subclass = "pair")
lap("match")

# ---- survival on the matched set --------------------------------------------------------------------------------
md$arm <- factor(ifelse(md$treated == 1, "treated", "control"), levels = c("control", "treated"))
km <- survfit(Surv(time_days, event) ~ arm, data = md)
lr <- survdiff(Surv(time_days, event) ~ arm, data = md)
md$group <- factor(md$group, levels = c("control", "single", "multiple"))
md$alsfrs_r_baseline_ge31 <- as.integer(md$alsfrs_r_baseline >= 31)
md$age_ge54 <- as.integer(md$age >= 54)
cox <- coxph(Surv(time_days, event) ~ group + sex_male + onset_bulbar + riluzole + alsfrs_r_baseline_ge31 + age_ge54,
             data = md)
lap("survival")

# The pairs, to compare with the platform's: the installed MatchIt's fast path for a score vector need not pick the
# nearest control (MatchIt 4.5.1 takes one scored below the treated patient; 4.4.0, the paper's, the nearest).
pair_ps <- md[order(md$pair, -md$treated), c("pair", "treated", "ps")]
ps_t <- pair_ps$ps[pair_ps$treated == 1]
ps_c <- pair_ps$ps[pair_ps$treated == 0]
ci <- summary(cox)$conf.int
hr <- function(term) if (term %in% rownames(ci)) list(hr = ci[term, "exp(coef)"], lower = ci[term, "lower .95"],
                                                      upper = ci[term, "upper .95"]) else NULL
medians <- summary(km)$table[, "median"]
out <- list(
  export = basename(export),
  versions = c(list(R = paste(R.version$major, R.version$minor, sep = ".")),
               lapply(setNames(nm = c("data.table", "MatchIt", "survival")), function(p) format(packageVersion(p)))),
  eligible = list(treated = nrow(eligible_treated), control = nrow(eligible_controls)),
  placebo_subjects = nrow(arm), pms_patients = nrow(dm),
  matched_pairs = sum(md$treated == 1),
  pair_distance_sum = sum(abs(ps_t - ps_c)), pairs_control_scored_below = sum(ps_c < ps_t),
  matched_controls = as.character(md$subject_id[md$treated == 0]),
  deaths = list(treated = sum(md$event[md$treated == 1]), control = sum(md$event[md$treated == 0])),
  median_days = list(treated = unname(medians["arm=treated"]), control = unname(medians["arm=control"])),
  logrank = list(chisq = unname(lr$chisq), p = pchisq(lr$chisq, df = 1, lower.tail = FALSE)),
  hr = list(group_single = hr("groupsingle"), group_multiple = hr("groupmultiple")),
  seconds = timings)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), "\n")
