"""Runs: admission (one active run per thread), execution of the graph, and their event streams."""
