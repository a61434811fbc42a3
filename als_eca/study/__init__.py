"""The study layer: the steps of the analysis over the marts, their stored results, figures and the report."""
