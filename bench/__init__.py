"""Benchmarks: speed measured as ratios, side by side in one run (`python -m bench.<name>`)."""
