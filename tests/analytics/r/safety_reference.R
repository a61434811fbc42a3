# Expected values for tests/analytics/test_analytics_safety.py: exact Poisson (Garwood) CIs of event rates, R
# poisson.test(x, T) (stats), and the Kaplan-Meier time to the first adverse event of the test's toy patients
# (survival; the same rows as _first_ae_toy() in the test).
#
#   Rscript tests/analytics/r/safety_reference.R      (from the repository root)
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/safety_reference.json"
suppressPackageStartupMessages({library(survival); library(jsonlite)})

res <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")))

# counts and patient-years: none, one, few, the paper's order of magnitude (44 ADR patients, 1,204 AEs, ~240 PY)
grid <- data.frame(x = c(0, 1, 7, 44, 69, 1204), py = c(10, 2.5, 190.3, 230.125, 201.7, 240.0))
res$poisson <- lapply(seq_len(nrow(grid)), function(i) {
  x <- grid$x[i]; py <- grid$py[i]
  lapply(c(0.95, 0.90), function(cl) {
    ci <- poisson.test(x, py, conf.level = cl)$conf.int
    list(x = x, py = py, conf_level = cl, rate_per_100 = 100 * x / py,
         lower_per_100 = 100 * ci[1], upper_per_100 = 100 * ci[2])
  })
})
res$poisson <- unlist(res$poisson, recursive = FALSE)

# time to first AE: days to the first event, or censoring at min(365, follow-up end)
toy <- data.frame(time = c(3, 3, 10, 45, 45, 120, 200, 365, 365, 365, 365, 150, 90, 0),
                  event = c(1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1))
fit <- survfit(Surv(time, event) ~ 1, data = toy)
s <- summary(fit, times = c(30, 90, 180, 365))
tb <- summary(fit)$table
res$first_ae <- list(median = unname(tb["median"]), lcl = unname(tb["0.95LCL"]), ucl = unname(tb["0.95UCL"]),
                     at = data.frame(time = s$time, surv = s$surv, lower = s$lower, upper = s$upper))

writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_path)
