"""Ratio benchmarks (DESIGN.md 10): each row measured against a baseline in the same run."""
