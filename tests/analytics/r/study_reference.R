# R reference of analytics.study.run_matched_analysis on tests/analytics/data/study_cohort.csv.
#
#   Rscript tests/analytics/r/study_reference.R      (from the repository root)
#
# Same steps as the paper (R glm, MatchIt nearest 1:1, survival): glm PS; MatchIt through its general path
# (treated x control matrix of |ps differences|, treated rows by decreasing ps, controls by increasing ps,
# m.order = "data"; see matching_reference.R for why); survfit / survdiff / coxph (Efron, tight convergence)
# with and without cluster(pair). Writes tests/analytics/expected/study_reference.json in the results.json layout.
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/study_reference.json"
suppressPackageStartupMessages({library(MatchIt); library(survival); library(jsonlite)})
d0 <- read.csv("tests/analytics/data/study_cohort.csv", stringsAsFactors = FALSE)
d <- d0[d0$eligible %in% c(TRUE, "True", "TRUE"), ]
d$pos <- seq_len(nrow(d))
d$sex_male <- as.integer(d$sex == "M")
d$onset_bulbar <- as.integer(d$onset_site == "bulbar")
covs <- c("age", "sex_male", "onset_bulbar", "alsfrs_r_baseline", "riluzole", "disease_duration_months")
fml <- reformulate(covs, response = "treated")
ps_fit <- glm(fml, data = d, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
d$ps <- fitted(ps_fit)
coef <- coef(ps_fit); names(coef)[1] <- "intercept"

tr <- d[d$treated == 1, ]; tr <- tr[order(-tr$ps, tr$pos), ]
co <- d[d$treated == 0, ]; co <- co[order(co$ps, co$pos), ]
dd <- rbind(tr, co); rownames(dd) <- seq_len(nrow(dd))
m <- matchit(fml, data = dd, method = "nearest", distance = abs(outer(tr$ps, co$ps, "-")), m.order = "data",
             replace = FALSE, ratio = 1)
sm <- summary(m, standardize = TRUE)
mm <- m$match.matrix
pairs <- cbind(dd$subject_id[as.integer(rownames(mm))], dd$subject_id[as.integer(mm[, 1])])
md <- match.data(m, subclass = "pair")
md$arm <- factor(ifelse(md$treated == 1, "treated", "control"), levels = c("control", "treated"))

km_block <- function(sub) {
  f <- survfit(Surv(time_days, event) ~ 1, data = sub)
  tb <- summary(f)$table
  s <- summary(f, times = c(365, 730, 1095), extend = FALSE)
  surv <- setNames(as.list(rep(NA_real_, 3)), c("365", "730", "1095"))
  for (i in seq_along(s$time)) surv[[as.character(s$time[i])]] <- s$surv[i]
  list(n = unname(tb["records"]), events = unname(tb["events"]), median = unname(tb["median"]),
       median_lower = unname(tb["0.95LCL"]), median_upper = unname(tb["0.95UCL"]), surv = surv)
}
# RMST horizon: the largest time at which both arms still have at least 10 patients at risk (each arm's 10th
# largest follow-up time), else the smaller of the arms' last follow-up times.
horizon <- function(t) if (length(t) >= 10) sort(t, decreasing = TRUE)[10] else NA
tau <- min(horizon(md$time_days[md$treated == 1]), horizon(md$time_days[md$treated == 0]))
if (is.na(tau)) tau <- min(max(md$time_days[md$treated == 1]), max(md$time_days[md$treated == 0]))
rm_block <- function(sub) {
  tb <- summary(survfit(Surv(time_days, event) ~ 1, data = sub), rmean = tau)$table
  list(estimate = unname(tb["rmean"]), se = unname(tb["se(rmean)"]))
}
lr <- survdiff(Surv(time_days, event) ~ arm, data = md)

md$group <- factor(md$group, levels = c("control", "single", "multiple"))
md$alsfrs_r_baseline_ge31 <- as.integer(md$alsfrs_r_baseline >= 31)
md$age_ge54 <- as.integer(md$age >= 54)
ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)
cf <- Surv(time_days, event) ~ group + sex_male + onset_bulbar + riluzole + alsfrs_r_baseline_ge31 + age_ge54
terms <- c("group_single", "group_multiple", "sex_male", "onset_bulbar", "riluzole", "alsfrs_r_baseline_ge31",
           "age_ge54")
cox_block <- function(fit) {
  ci <- summary(fit)$conf.int; co <- summary(fit)$coefficients
  out <- list()
  for (i in seq_along(terms)) out[[terms[i]]] <- list(hr = unname(ci[i, "exp(coef)"]),
    lower = unname(ci[i, "lower .95"]), upper = unname(ci[i, "upper .95"]), p = unname(co[i, "Pr(>|z|)"]))
  list(terms = out)
}
cx <- coxph(cf, data = md, control = ctl)
cxr <- coxph(cf, data = md, cluster = pair, control = ctl)
pw <- survdiff(Surv(time_days, event) ~ group, data = md[md$treated == 1, ])

# Table 1 tests on the analysed (eligible) cohort: Welch t-test and chisq.test (Yates for 2x2)
tt <- function(v) { r <- t.test(d[[v]][d$treated == 1], d[[v]][d$treated == 0]); list(t = unname(r$statistic), df = unname(r$parameter), p = r$p.value) }
ct <- function(v) { r <- chisq.test(table(d[[v]], d$treated)); list(chisq = unname(r$statistic), p = r$p.value) }

res <- list(
  n = list(treated = sum(d$treated == 1), control = sum(d$treated == 0)),
  propensity = list(coef = as.list(coef)),
  matching = list(pairs = unname(pairs),
                  smd = list(before = as.list(sm$sum.all[covs, "Std. Mean Diff."]),
                             after = as.list(sm$sum.matched[covs, "Std. Mean Diff."]))),
  km = list(treated = km_block(md[md$treated == 1, ]), control = km_block(md[md$treated == 0, ])),
  logrank = list(chisq = lr$chisq, p = pchisq(lr$chisq, 1, lower.tail = FALSE)),
  rmst = list(tau = tau, treated = rm_block(md[md$treated == 1, ]), control = rm_block(md[md$treated == 0, ])),
  cox = cox_block(cx),
  cox_robust = cox_block(cxr),
  pairwise_logrank = list(single_vs_multiple = list(chisq = pw$chisq, p = pchisq(pw$chisq, 1, lower.tail = FALSE))),
  extra = list(
    ps_se = as.list(setNames(summary(ps_fit)$coefficients[, 2], names(coef))),
    ps_deviance = deviance(ps_fit),
    ttest = lapply(setNames(c("age", "alsfrs_r_baseline", "disease_duration_months", "progression_speed"),
                            c("age", "alsfrs_r_baseline", "disease_duration_months", "progression_speed")), tt),
    chisq = lapply(setNames(c("sex", "onset_site", "riluzole"), c("sex", "onset_site", "riluzole")), ct),
    speed_quartiles = unname(quantile(d$progression_speed, c(0.25, 0.75), type = 7)),
    speed_ttest = tt("progression_speed"),
    zph = as.list(as.data.frame(t(cox.zph(cx)$table))),
    versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt")),
                    survival = as.character(packageVersion("survival")))
  )
)
names(res$matching$smd$before) <- covs; names(res$matching$smd$after) <- covs
write_json(res, out_path, digits = NA, pretty = TRUE, na = "null",
           auto_unbox = TRUE)
cat("ok\n")
