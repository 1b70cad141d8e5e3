"""Ratio benchmarks (DESIGN.md 9): each row measured against a baseline in the same run."""
