# Expected values for tests/analytics/test_analytics_estimands.py and test_analytics_diagnostics.py (and the
# survival_at fix in test_analytics_survival.py), from R survival / MatchIt on the committed public data sets
# (lung, waltons) and the committed synthetic study cohort.
#
#   Rscript tests/analytics/r/estimands_reference.R      (from the repository root)
#
# survRM2, EValue and CohortMethod are not installed here: their formulas are written out by hand below from the
# packages' documented definitions, on top of survival's own outputs (survfit, summary.survfit, print.survfit,
# cox.zph) and MatchIt's pairs. Nothing here is computed by, or copied from, the Python code under test.
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/estimands_reference.json"
suppressPackageStartupMessages({library(survival); library(MatchIt); library(jsonlite)})
rd <- function(f) read.csv(file.path("tests/analytics/data", f), stringsAsFactors = FALSE)
lung <- rd("lung.csv"); waltons <- rd("waltons.csv")
z975 <- qnorm(0.975)

res <- list(versions = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                            MatchIt = as.character(packageVersion("MatchIt"))))

# ---------------------------------------------------------------------------------------------------------------
# 1. summary(survfit, times=) after the end of a curve: extend = TRUE and extend = FALSE, as R gives them
# ---------------------------------------------------------------------------------------------------------------
at_block <- function(fit, times) {
  one <- function(ext) {
    s <- summary(fit, times = times, extend = ext)
    data.frame(time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err, lower = s$lower,
               upper = s$upper)
  }
  list(times = times, last_time = max(fit$time), last_surv = fit$surv[length(fit$surv)],
       extend_true = one(TRUE), extend_false = one(FALSE))
}
flat2 <- data.frame(t = c(1, 2, 3, 4), e = c(1, 1, 0, 1))              # reaches 0 at t = 4 (last is a death)
res$survival_at$flat2 <- at_block(survfit(Surv(t, e) ~ 1, data = flat2), c(3, 4, 5, 10))
wm <- waltons[waltons$group == "miR-137", ]                             # reaches 0 at t = 62
res$survival_at$waltons_miR137 <- at_block(survfit(Surv(T, E) ~ 1, data = wm), c(50, 62, 63, 75))
lm1 <- lung[lung$sex == 1, ]                                            # ends with a censoring at t = 1022
res$survival_at$lung_male <- at_block(survfit(Surv(time, status) ~ 1, data = lm1), c(1000, 1022, 1023, 1100))

# ---------------------------------------------------------------------------------------------------------------
# 2. RMST per arm, difference and ratio (survRM2::rmst2, unadjusted; formulas written out)
# ---------------------------------------------------------------------------------------------------------------
# survRM2's per-arm RMST and variance (Uno et al. 2014; the package's rmst1): area under the KM step function on
# [0, tau]; variance = sum over KM times t_i <= tau of (area from t_i to tau)^2 * d_i / (n_i (n_i - d_i)), the term
# being 0 when n_i = d_i. Written here from that definition, independently of survival's survmean.
rmst_hand <- function(time, status, tau) {
  f <- survfit(Surv(time, status) ~ 1)
  k <- f$time <= tau
  right <- c(f$time[k], tau)
  area <- diff(c(0, right)) * c(1, f$surv[k])          # rectangle on [t_(i-1), t_i) with height S(t_(i-1))
  tail_area <- rev(cumsum(rev(area)))[-1]              # area from t_i to tau, i = 1..m
  d <- f$n.event[k]; n <- f$n.risk[k]
  h <- ifelse(n - d == 0, 0, d / (n * (n - d)))
  list(rmst = sum(area), var = sum(tail_area^2 * h))
}
# survival's own figure (print.survfit(rmean = tau) -> survmean) for the same arm
rmst_survival <- function(time, status, tau) {
  tb <- summary(survfit(Surv(time, status) ~ 1), rmean = tau)$table
  list(rmst = unname(tb["rmean"]), se = unname(tb["se(rmean)"]))
}
rmst_contrast <- function(time, status, arm, tau) {
  a1 <- rmst_hand(time[arm == 1], status[arm == 1], tau)
  a0 <- rmst_hand(time[arm == 0], status[arm == 0], tau)
  s1 <- rmst_survival(time[arm == 1], status[arm == 1], tau)
  s0 <- rmst_survival(time[arm == 0], status[arm == 0], tau)
  diff <- a1$rmst - a0$rmst; se_d <- sqrt(a1$var + a0$var)
  lr <- log(a1$rmst / a0$rmst); se_r <- sqrt(a1$var / a1$rmst^2 + a0$var / a0$rmst^2)
  list(tau = tau,
       arm1 = list(rmst = a1$rmst, var = a1$var, survmean_rmst = s1$rmst, survmean_se = s1$se),
       arm0 = list(rmst = a0$rmst, var = a0$var, survmean_rmst = s0$rmst, survmean_se = s0$se),
       # how far survRM2's variance is from survival's SE^2 (0 up to rounding: the same plug-in formula)
       var_vs_survmean = max(abs(c(a1$var - s1$se^2, a0$var - s0$se^2))),
       difference = list(estimate = diff, se = se_d, lower = diff - z975 * se_d, upper = diff + z975 * se_d,
                         p = 2 * pnorm(-abs(diff) / se_d)),
       ratio = list(estimate = exp(lr), se_log = se_r, lower = exp(lr - z975 * se_r),
                    upper = exp(lr + z975 * se_r), p = 2 * pnorm(-abs(lr) / se_r)))
}
lung$female <- as.integer(lung$sex == 2)
# taus survRM2 accepts: both lung curves end with a censoring (female 965, male 1022), so tau <= 965; both waltons
# curves reach 0 (62, 75), so tau <= 75
res$rmst$lung_sex <- lapply(c(365, 730, 965), function(tau) rmst_contrast(lung$time, lung$status, lung$female, tau))
waltons$mir <- as.integer(waltons$group == "miR-137")
res$rmst$waltons <- lapply(c(30, 60, 75), function(tau) rmst_contrast(waltons$T, waltons$E, waltons$mir, tau))

# ---------------------------------------------------------------------------------------------------------------
# 3. Survival difference at times t: S1 - S0 +- z sqrt(se1^2 + se0^2), Greenwood SEs of summary(survfit, times=)
#    Rule after the end of a curve: 0 (SE NaN, as R) once it has reached 0; unknown (NA) after a final censoring.
# ---------------------------------------------------------------------------------------------------------------
surv_at <- function(time, status, times) {
  f <- survfit(Surv(time, status) ~ 1)
  s <- summary(f, times = times, extend = TRUE)
  ended_censored <- times > max(f$time) & f$surv[length(f$surv)] > 0
  list(surv = ifelse(ended_censored, NA, s$surv), se = ifelse(ended_censored, NA, s$std.err))
}
surv_diff <- function(time, status, arm, times) {
  a1 <- surv_at(time[arm == 1], status[arm == 1], times)
  a0 <- surv_at(time[arm == 0], status[arm == 0], times)
  d <- a1$surv - a0$surv; se <- sqrt(a1$se^2 + a0$se^2)
  data.frame(time = times, surv1 = a1$surv, se1 = a1$se, surv0 = a0$surv, se0 = a0$se, difference = d, se = se,
             lower = d - z975 * se, upper = d + z975 * se)
}
res$survival_difference$lung_sex <- surv_diff(lung$time, lung$status, lung$female, c(180, 365, 730, 965, 1000))
res$survival_difference$waltons <- surv_diff(waltons$T, waltons$E, waltons$mir, c(30, 50, 62, 65, 75, 80))

# ---------------------------------------------------------------------------------------------------------------
# 4. E-values of a hazard ratio (VanderWeele & Ding 2017; EValue::evalues.HR, written out)
# ---------------------------------------------------------------------------------------------------------------
hr_to_rr <- function(hr, rare) if (rare) hr else (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1 / hr))
e_of_rr <- function(rr) { if (rr < 1) rr <- 1 / rr; rr + sqrt(rr * (rr - 1)) }
evalue_hr <- function(est, lo, hi, rare) {
  rr <- hr_to_rr(est, rare); rl <- hr_to_rr(lo, rare); ru <- hr_to_rr(hi, rare)
  e_ci <- if (rr > 1) { if (rl <= 1) 1 else e_of_rr(rl) } else if (rr < 1) { if (ru >= 1) 1 else e_of_rr(ru) } else 1
  list(hr = est, lower = lo, upper = hi, rare = rare, rr = rr, rr_lower = rl, rr_upper = ru,
       e_point = e_of_rr(rr), e_ci = e_ci)
}
ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)
cx_lung <- summary(coxph(Surv(time, status) ~ female, data = lung, control = ctl))$conf.int
hr_cases <- list(c(cx_lung[1, "exp(coef)"], cx_lung[1, "lower .95"], cx_lung[1, "upper .95"]),  # protective
                 c(0.56, 0.46, 0.69), c(1.8, 1.2, 2.7), c(0.8, 0.6, 1.07), c(1.3, 0.9, 1.9), c(1, 0.8, 1.25))
res$evalue <- list()
for (hc in hr_cases) for (rare in c(TRUE, FALSE)) res$evalue[[length(res$evalue) + 1]] <- evalue_hr(hc[1], hc[2], hc[3], rare)

# ---------------------------------------------------------------------------------------------------------------
# 5. Study cohort: PS (glm), MatchIt general path (see matching_reference.R), as in study_reference.R
# ---------------------------------------------------------------------------------------------------------------
d0 <- rd("study_cohort.csv")
d <- d0[d0$eligible %in% c(TRUE, "True", "TRUE"), ]
d$pos <- seq_len(nrow(d))
d$sex_male <- as.integer(d$sex == "M")
d$onset_bulbar <- as.integer(d$onset_site == "bulbar")
covs <- c("age", "sex_male", "onset_bulbar", "alsfrs_r_baseline", "riluzole", "disease_duration_months")
fml <- reformulate(covs, response = "treated")
ps_fit <- glm(fml, data = d, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
d$ps <- fitted(ps_fit)
tr <- d[d$treated == 1, ]; tr <- tr[order(-tr$ps, tr$pos), ]
co <- d[d$treated == 0, ]; co <- co[order(co$ps, co$pos), ]
dd <- rbind(tr, co); rownames(dd) <- seq_len(nrow(dd))
match_study <- function(ratio, caliper = NULL) {
  args <- list(fml, data = dd, method = "nearest", distance = abs(outer(tr$ps, co$ps, "-")), m.order = "data",
               replace = FALSE, ratio = ratio)
  if (!is.null(caliper)) { args$caliper <- caliper * sd(d$ps); args$std.caliper <- FALSE }
  suppressWarnings(do.call(matchit, args))
}
m1 <- match_study(1)
md <- match.data(m1, subclass = "pair")

# 5a. Preference-score equipoise (Walker et al. 2013; CohortMethod computePreferenceScore / computeEquipoise):
#     logit(F) = logit(PS) - logit(P), P = share treated in the population the PS was fitted on; share of all
#     patients (both arms) with F in [0.3, 0.7], bounds included.
P <- mean(d$treated)
ps_c <- pmin(d$ps, 0.9999999)
pref <- plogis(qlogis(ps_c) - qlogis(P))
inside <- pref >= 0.3 & pref <= 0.7
res$equipoise <- list(proportion = P, share = mean(inside), n = nrow(d), n_inside = sum(inside),
                      share_treated = mean(inside[d$treated == 1]), share_control = mean(inside[d$treated == 0]),
                      pref_min = min(pref), pref_max = max(pref), pref_mean = mean(pref),
                      pref_first = pref[1:5], subject_first = d$subject_id[1:5])

# 5b. Minimum detectable HR (Schoenfeld 1983; CohortMethod computeMdrr, Cox): D events, p share treated,
#     log(MDRR) = (z_(1-alpha/2) + z_(1-beta)) / sqrt(D p (1 - p)); the protective MDHR is its reciprocal.
D <- sum(md$event); p <- mean(md$treated)
log_mdrr <- (qnorm(1 - 0.05 / 2) + qnorm(0.8)) / sqrt(D * p * (1 - p))
mdrr <- exp(log_mdrr)
res$mdrr <- list(events = D, p_treated = p, mdrr = mdrr, protective = 1 / mdrr, se_log_hr = 1 / sqrt(D * p * (1 - p)),
                 # Schoenfeld's required number of events at that HR, which must give D back
                 events_back = (qnorm(0.975) + qnorm(0.8))^2 / (p * (1 - p) * log(1 / mdrr)^2))

# 5c. Follow-up parity: reverse Kaplan-Meier (censoring is the event) per arm, median and 95 % CI (print.survfit)
md$arm <- factor(ifelse(md$treated == 1, "treated", "control"), levels = c("control", "treated"))
rk <- summary(survfit(Surv(time_days, 1 - event) ~ arm, data = md))$table
res$followup <- list(
  treated = list(median = unname(rk["arm=treated", "median"]), lower = unname(rk["arm=treated", "0.95LCL"]),
                 upper = unname(rk["arm=treated", "0.95UCL"]), n = unname(rk["arm=treated", "records"])),
  control = list(median = unname(rk["arm=control", "median"]), lower = unname(rk["arm=control", "0.95LCL"]),
                 upper = unname(rk["arm=control", "0.95UCL"]), n = unname(rk["arm=control", "records"])))
res$followup$ratio <- res$followup$treated$median / res$followup$control$median

# 5d. RMST horizon: largest t with at least m patients at risk (time >= t) in both arms = the smaller of the two
#     arms' m-th largest follow-up time; checked against summary(survfit, times=)$n.risk just at and after it.
horizon <- function(m) {
  tau_arm <- sapply(c(1, 0), function(a) sort(md$time_days[md$treated == a], decreasing = TRUE)[m])
  tau <- min(tau_arm)
  nr <- function(a, t) summary(survfit(Surv(time_days, event) ~ 1, data = md[md$treated == a, ]), times = t,
                               extend = TRUE)$n.risk
  later <- md$time_days[md$time_days > tau]
  nxt <- if (length(later)) min(later) else NA
  list(min_at_risk = m, tau = tau, tau_treated = tau_arm[1], tau_control = tau_arm[2],
       n_risk_treated = nr(1, tau), n_risk_control = nr(0, tau), next_time = nxt,
       n_risk_treated_next = if (is.na(nxt)) NA else nr(1, nxt),
       n_risk_control_next = if (is.na(nxt)) NA else nr(0, nxt))
}
res$horizon <- list(m10 = horizon(10), m20 = horizon(20), m1 = horizon(1))

# 5e. Balance after 1:1 matching: MatchIt's std. mean differences, their max |.| and where
sm <- summary(m1, standardize = TRUE)$sum.matched[covs, "Std. Mean Diff."]
res$smd <- list(smd = as.list(sm), max_abs = max(abs(sm)), worst = names(sm)[which.max(abs(sm))])

# 5f. 1:2 matching within a caliper of 0.05 SD of the PS: matched sets short of 2 controls, unmatched treated,
#     and generalisability (matched treated vs all eligible treated, SMD with the all-treated SD as denominator,
#     MatchIt's variance conventions: p(1-p) for 0/1 covariates, n-1 sample variance otherwise)
m2 <- match_study(2, 0.05)
mm <- m2$match.matrix
n_ctrl <- rowSums(!is.na(mm))
matched_treated <- dd$subject_id[as.integer(rownames(mm))[n_ctrl > 0]]
pairs2 <- NULL
for (k in seq_len(ncol(mm))) {
  has <- !is.na(mm[, k])
  pairs2 <- rbind(pairs2, data.frame(treated_id = dd$subject_id[as.integer(rownames(mm)[has])],
                                     control_id = dd$subject_id[as.integer(mm[has, k])]))
}
res$short_sets <- list(ratio = 2, n_treated = nrow(mm), n_full = sum(n_ctrl == 2), n_short = sum(n_ctrl == 1),
                       n_unmatched = sum(n_ctrl == 0), n_pairs = nrow(pairs2))
all_t <- d[d$treated == 1, ]
mat_t <- all_t[all_t$subject_id %in% matched_treated, ]
gen <- sapply(covs, function(v) {
  x <- all_t[[v]]
  s2 <- if (all(x %in% c(0, 1))) mean(x) * (1 - mean(x)) else var(x)
  (mean(x) - mean(mat_t[[v]])) / sqrt(s2)
})
res$generalisability <- list(n_all = nrow(all_t), n_matched = nrow(mat_t), smd = as.list(gen),
                             max_abs = max(abs(gen)), matched_treated = sort(matched_treated))

# 5g. Proportional hazards: cox.zph of the paper's Cox model on the 1:1 matched set, verdict p >= 0.05
md$group <- factor(md$group, levels = c("control", "single", "multiple"))
md$alsfrs_r_baseline_ge31 <- as.integer(md$alsfrs_r_baseline >= 31)
md$age_ge54 <- as.integer(md$age >= 54)
cx <- coxph(Surv(time_days, event) ~ group + sex_male + onset_bulbar + riluzole + alsfrs_r_baseline_ge31 + age_ge54,
            data = md, control = ctl)
zt <- cox.zph(cx)$table
res$zph <- list(terms = rownames(zt), chisq = unname(zt[, "chisq"]), df = unname(zt[, "df"]),
                p = unname(zt[, "p"]), passed = unname(zt[, "p"] >= 0.05))

write_json(res, out_path, digits = NA, pretty = TRUE, na = "null", auto_unbox = TRUE, dataframe = "columns")
cat("ok\n")
