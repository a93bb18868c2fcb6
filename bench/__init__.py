"""Benchmarks: one command each, results in bench/results/ (`make bench` runs them all)."""
