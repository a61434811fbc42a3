# Expected values for tests/analytics/test_analytics_cafs.py: the combined assessment of function and survival
# (CAFS; Berry et al. 2013) and the Finkelstein-Schoenfeld test (Stat Med 1999), on the committed toy set
# (tests/analytics/data/cafs_toy.csv, 8 patients, checkable by hand) and the synthetic cafs_cohort.csv (200 patients).
#
#   Rscript tests/analytics/r/cafs_reference.R      (from the repository root)
#
# No R package implements CAFS for us: the pairwise rule is written out below from the papers' definition, one
# pair at a time (an explicit double loop), and the rank-sum test is R's own wilcox.test on the scores. Nothing here
# is computed by, or copied from, the Python code under test.
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/cafs_reference.json"
suppressPackageStartupMessages(library(jsonlite))
rd <- function(f) read.csv(file.path("tests/analytics/data", f), stringsAsFactors = FALSE)

# One pair: +1 when patient a fares better than patient b, -1 worse, 0 equal.
#  - survival over the follow-up both share, up to the horizon: who (alone) is known dead by then loses;
#  - if both are alive then, the ALSFRS-R change at 12 months (larger = better); a missing change: equal.
cafs_pair <- function(a, b, d, horizon) {
  common <- min(d$time_days[a], d$time_days[b], horizon)
  dead_a <- d$event[a] == 1 && d$time_days[a] <= common
  dead_b <- d$event[b] == 1 && d$time_days[b] <= common
  if (dead_a || dead_b) {
    if (dead_a && dead_b) {
      # both dead by the common time: the earlier death loses, the same day is a tie
      return(sign(d$time_days[a] - d$time_days[b]))
    }
    return(if (dead_a) -1 else 1)
  }
  ca <- d$alsfrs_change_12m[a]; cb <- d$alsfrs_change_12m[b]
  if (is.na(ca) || is.na(cb)) return(0)
  sign(ca - cb)
}

cafs <- function(d, horizon) {
  n <- nrow(d)
  w <- matrix(0, n, n)
  how <- matrix("", n, n)  # what decided the pair (for the pair counts)
  for (a in seq_len(n)) for (b in seq_len(n)) {
    if (a == b) next
    w[a, b] <- cafs_pair(a, b, d, horizon)
    common <- min(d$time_days[a], d$time_days[b], horizon)
    dead <- c(d$event[a] == 1 && d$time_days[a] <= common, d$event[b] == 1 && d$time_days[b] <= common)
    how[a, b] <- if (sum(dead) == 1) "survival" else if (sum(dead) == 2) "same death day" else
      if (anyNA(d$alsfrs_change_12m[c(a, b)])) "missing change" else "function"
  }
  stopifnot(all(w == -t(w)))                    # antisymmetric: a beats b exactly when b loses to a
  u <- rowSums(w)                               # wins - losses
  stopifnot(sum(u) == 0)
  arm <- d$treated == 1
  n1 <- sum(arm); n0 <- sum(!arm); N <- n1 + n0
  S <- sum(u[arm])
  V <- n1 * n0 / (N * (N - 1)) * sum(u^2)       # permutation variance of a sum of n1 draws from u (mean 0)
  z <- S / sqrt(V)
  # treated listed first, so that W is the treated arm's Mann-Whitney U
  grp <- factor(ifelse(arm, "treated", "control"), levels = c("treated", "control"))
  wt <- wilcox.test(u ~ grp, exact = FALSE, correct = TRUE)
  tc <- w[arm, !arm]                            # every treated patient against every control
  wins_t <- sum(tc == 1); wins_c <- sum(tc == -1); ties <- sum(tc == 0)
  upper <- upper.tri(how)
  list(horizon_days = horizon, subject_id = d$subject_id, scores = unname(u),
       n_treated = n1, n_control = n0,
       mean_score_treated = mean(u[arm]), mean_score_control = mean(u[!arm]),
       fs_statistic = S, fs_variance = V, fs_z = z, fs_p = 2 * pnorm(-abs(z)),
       wilcoxon_w = unname(wt$statistic), wilcoxon_p = wt$p.value,
       wins_treated = wins_t, wins_control = wins_c, ties = ties,
       win_probability = (wins_t + 0.5 * ties) / (n1 * n0), win_ratio = wins_t / wins_c,
       n_pairs_survival = sum(how[upper] == "survival"), n_pairs_function = sum(how[upper] == "function"),
       n_pairs_same_death_day = sum(how[upper] == "same death day"),
       n_pairs_missing_change = sum(how[upper] == "missing change"),
       n_change_missing = sum(is.na(d$alsfrs_change_12m)))
}

toy <- rd("cafs_toy.csv"); cohort <- rd("cafs_cohort.csv")
res <- list(versions = list(R = R.version.string),
            toy = cafs(toy, 365),
            cohort = cafs(cohort, 365),
            cohort_180 = cafs(cohort, 180))

write_json(res, out_path, digits = NA, pretty = TRUE, na = "null", auto_unbox = TRUE)
cat("ok\n")
