"""The `als-eca` command line: on top of every other package (it generates data, runs the graph, analyses)."""
