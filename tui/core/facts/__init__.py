"""What a target looks like, collected in one pass: the raw facts the findings are made from."""
