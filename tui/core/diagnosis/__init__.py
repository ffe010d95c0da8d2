"""Findings from facts, and the plans that remedy them. No I/O here: facts in, findings out."""
