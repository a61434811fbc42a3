# Expected pairs for tests/analytics/test_matching.py, produced by MatchIt through its GENERAL code path.
#
#   Rscript tests/analytics/r/matching_reference.R      (from the repository root)
#
# Debian's MatchIt 4.5.1 has a fast path for a plain propensity-score vector whose pairs differ from MatchIt
# 4.4.0 (the paper's version). The general path (find_control_mat) does not: we pass `distance` as the treated x
# control matrix of absolute score differences, treated rows in decreasing score order (stable), control columns
# in increasing score order (stable), and m.order = "data". MatchIt takes the first minimum of a row, so ties go
# to the lower score, then to the earlier input row: the rule documented in analytics/matching.py.
out_path <- commandArgs(trailingOnly = TRUE)[1]  # optional: where to write the JSON
if (is.na(out_path)) out_path <- "tests/analytics/expected/matching_reference.json"
suppressPackageStartupMessages({library(MatchIt); library(jsonlite)})
d <- read.csv("tests/analytics/data/matching_scores.csv", stringsAsFactors = FALSE)
d$pos <- seq_len(nrow(d))
tr <- d[d$treated == 1, ]
tr <- tr[order(-tr$score, tr$pos), ]          # R order() is stable: equal scores keep input order
co <- d[d$treated == 0, ]
co <- co[order(co$score, co$pos), ]
dd <- rbind(tr, co)
dmat <- abs(outer(tr$score, co$score, "-"))

run <- function(ratio = 1, caliper = NULL) {
  args <- list(treated ~ score, data = dd, method = "nearest", distance = dmat, m.order = "data",
               replace = FALSE, ratio = ratio)
  if (!is.null(caliper)) {
    args$caliper <- caliper * sd(d$score)   # MatchIt std.caliper: SD of the score over all units
    args$std.caliper <- FALSE
  }
  m <- suppressWarnings(do.call(matchit, args))
  mm <- m$match.matrix
  out <- NULL
  for (k in seq_len(ncol(mm))) {
    has <- !is.na(mm[, k])
    out <- rbind(out, data.frame(treated_id = dd$unit_id[as.integer(rownames(mm)[has])],
                                 control_id = dd$unit_id[as.integer(mm[has, k])], pass = k))
  }
  out
}
rownames(dd) <- seq_len(nrow(dd))
res <- list(
  matchit_version = as.character(packageVersion("MatchIt")),
  sd_score = sd(d$score),
  ratio1 = run(1),
  ratio2 = run(2),
  caliper_0_02 = run(1, 0.02),
  ratio3_caliper_0_05 = run(3, 0.05)
)
write_json(res, out_path, digits = NA, pretty = TRUE, auto_unbox = TRUE)
cat("pairs:", nrow(res$ratio1), nrow(res$ratio2), nrow(res$caliper_0_02), nrow(res$ratio3_caliper_0_05), "\n")
