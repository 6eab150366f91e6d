"""Benchmarks of the template against baselines measured in the same run (`make bench`)."""
