"""Benchmarks of ave, run as modules from the repository root: `python -m bench.NAME` (see the Makefile)."""
