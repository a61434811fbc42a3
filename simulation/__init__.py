"""The simulation bias audit (generate with a known truth, run the graph, compare)."""
