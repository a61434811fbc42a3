# Expected values for tests/analytics/test_survival.py and test_cox.py, from R survival on the public data sets
# shipped with lifelines (exported to tests/analytics/data/ by make_fixtures.py).
#
#   Rscript tests/analytics/r/survival_reference.R      (from the repository root)
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/survival_reference.json"
suppressPackageStartupMessages({library(survival); library(jsonlite)})
rd <- function(f) read.csv(file.path("tests/analytics/data", f), stringsAsFactors = FALSE)
waltons <- rd("waltons.csv"); rossi <- rd("rossi.csv"); lung <- rd("lung.csv"); gbsg2 <- rd("gbsg2.csv")

km_out <- function(fit, times, taus) {
  s <- summary(fit, times = times)
  list(
    table = data.frame(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, surv = fit$surv,
                       std_err = fit$std.err, lower = fit$lower, upper = fit$upper),
    print = lapply(taus, function(tau) {
      tb <- summary(fit, rmean = tau)$table
      list(tau = tau, n = unname(tb["records"]), events = unname(tb["events"]), rmean = unname(tb["rmean"]),
           se_rmean = unname(tb["se(rmean)"]), median = unname(tb["median"]),
           lcl = unname(tb["0.95LCL"]), ucl = unname(tb["0.95UCL"]))
    }),
    at = data.frame(time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err,
                    lower = s$lower, upper = s$upper)
  )
}
sdiff <- function(fit) list(chisq = fit$chisq, df = length(fit$n) - 1,
                            p = pchisq(fit$chisq, length(fit$n) - 1, lower.tail = FALSE),
                            observed = as.numeric(fit$obs), expected = as.numeric(fit$exp))
cox_out <- function(fit) {
  s <- summary(fit)$coefficients
  z <- cox.zph(fit)$table
  list(names = rownames(s), coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]),
       robust_se = if ("robust se" %in% colnames(s)) unname(s[, "robust se"]) else NULL,
       p = unname(s[, "Pr(>|z|)"]), loglik = fit$loglik,
       zph = list(terms = rownames(z), chisq = unname(z[, "chisq"]), df = unname(z[, "df"]), p = unname(z[, "p"])))
}
ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)

res <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")))

# Kaplan-Meier: waltons per group, lung overall, a constructed curve with a flat segment at exactly S = 0.5
for (g in c("control", "miR-137")) {
  res$km[[paste0("waltons_", g)]] <- km_out(survfit(Surv(T, E) ~ 1, data = waltons[waltons$group == g, ]),
                                            times = c(5, 30, 50, 60), taus = c(30, 60, 75))
}
res$km$lung <- km_out(survfit(Surv(time, status) ~ 1, data = lung), times = c(100, 365, 730, 1000),
                      taus = c(365, 730, 1022))
flat <- data.frame(t = c(1, 2, 3, 4, 5, 6, 7, 8), e = c(1, 1, 0, 1, 0, 1, 0, 1))
res$km$flat_half <- km_out(survfit(Surv(t, e) ~ 1, data = flat), times = c(2, 6), taus = c(8))
flat2 <- data.frame(t = c(1, 2, 3, 4), e = c(1, 1, 0, 1))  # S = 0.5 from t = 2, drops to 0 at 4
res$km$flat_half2 <- km_out(survfit(Surv(t, e) ~ 1, data = flat2), times = c(2), taus = c(4))

# log-rank: 2 groups (waltons), 3 groups (gbsg2 tumour grade), pairwise (gbsg2), 4 groups incl. one of size 1
res$logrank$waltons <- sdiff(survdiff(Surv(T, E) ~ group, data = waltons))
res$logrank$gbsg2_tgrade <- sdiff(survdiff(Surv(time, cens) ~ tgrade, data = gbsg2))
for (pr in list(c("I", "II"), c("I", "III"), c("II", "III"))) {
  res$logrank[[paste0("gbsg2_", pr[1], "_vs_", pr[2])]] <-
    sdiff(survdiff(Surv(time, cens) ~ tgrade, data = gbsg2, subset = tgrade %in% pr))
}
lung_cc <- lung[!is.na(lung$ph.ecog), ]
res$logrank$lung_ecog <- sdiff(survdiff(Surv(time, status) ~ ph.ecog, data = lung_cc))

# Cox (Efron), tight convergence; naive and robust (pairs of consecutive rows as clusters); cox.zph
rossi$pair <- (seq_len(nrow(rossi)) - 1) %/% 2
res$cox$rossi <- cox_out(coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi,
                               control = ctl))
res$cox$rossi_cluster <- cox_out(coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio,
                                       data = rossi, cluster = pair, control = ctl))
res$cox$rossi_robust <- cox_out(coxph(Surv(week, arrest) ~ fin + age + prio, data = rossi, robust = TRUE,
                                      control = ctl))
lung_cc$female <- as.integer(lung_cc$sex == 2)
res$cox$lung <- cox_out(coxph(Surv(time, status) ~ age + female + ph.ecog, data = lung_cc, control = ctl))
gb <- gbsg2
gb$tgrade <- factor(gb$tgrade, levels = c("I", "II", "III"))
gb$horTh_yes <- as.integer(gb$horTh == "yes")
res$cox$gbsg2_factor <- cox_out(coxph(Surv(time, cens) ~ tgrade + horTh_yes + age + pnodes, data = gb,
                                      control = ctl))

write_json(res, out_path, digits = NA, pretty = TRUE, na = "null", auto_unbox = TRUE,
           dataframe = "columns")
cat("ok\n")
