"""How much two byte strings share at their start or end, at C speed for any size.

Slices are compared a block at a time (one memcmp each), then a binary search finds the
first difference inside the block that differs: linear, with a few Python steps per block.
"""

from __future__ import annotations

BLOCK = 1 << 16


def common_prefix(a: bytes, b: bytes, most: int, chunk: int = BLOCK) -> int:
    """How many leading bytes a and b share, up to `most` (at most the shorter length)."""
    i = 0
    while i < most:
        j = min(most, i + chunk)
        if a[i:j] != b[i:j]:
            lo, hi = i, j - 1  # the first difference is in lo..hi
            while lo < hi:
                mid = (lo + hi) // 2
                if a[i:mid + 1] == b[i:mid + 1]:
                    lo = mid + 1
                else:
                    hi = mid
            return lo
        i = j
    return most


def common_suffix(a: bytes, b: bytes, most: int, chunk: int = BLOCK) -> int:
    """How many trailing bytes a and b share, up to `most` (common_prefix of the reversed
    texts, without reversing them)."""
    la, lb, i = len(a), len(b), 0
    while i < most:
        j = min(most, i + chunk)
        if a[la - j:la - i] != b[lb - j:lb - i]:
            lo, hi = i, j - 1  # the first difference from the end is at lo..hi
            while lo < hi:
                mid = (lo + hi) // 2
                if a[la - mid - 1:la - i] == b[lb - mid - 1:lb - i]:
                    lo = mid + 1
                else:
                    hi = mid
            return lo
        i = j
    return most
