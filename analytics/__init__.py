"""Pure statistics for the als-eca study, numerically aligned with R (glm, MatchIt 4.4 rule, survival 3.x).

Modules: ``propensity`` (glm PS), ``matching`` (greedy NN), ``balance`` (SMD, Table 1), ``survival`` (KM,
log-rank, RMST), ``cox`` (Efron Cox, robust variance, cox.zph), ``progression``, ``safety``, ``plots``, ``study``
(the end-to-end matched analysis and the results.json contract). No Dagster, no DuckDB.

Import the module you need (``from analytics.survival import kaplan_meier``): the package itself imports nothing,
so a light module never pays for scipy and matplotlib.
"""
