"""Benchmarks: `make bench` (or `python -m tests.bench.run_all`). Not collected by pytest."""
