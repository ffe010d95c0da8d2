"""How much two byte strings share at their start or end, at C speed for any size.

Slices are compared a block at a time (one memcmp each), then a binary search finds the
first difference inside the block that differs: linear, with a few Python steps per block.
"""

from __future__ import annotations

from collections.abc import Callable

BLOCK = 1 << 16


def common_prefix(a: bytes, b: bytes, most: int, chunk: int = BLOCK) -> int:
    """How many leading bytes a and b share, up to `most` (at most the shorter length)."""
    return _shared(lambda i, j: a[i:j] == b[i:j], most, chunk)


def common_suffix(a: bytes, b: bytes, most: int, chunk: int = BLOCK) -> int:
    """How many trailing bytes a and b share, up to `most` (common_prefix of the reversed
    texts, without reversing them)."""
    la, lb = len(a), len(b)
    return _shared(lambda i, j: a[la - j:la - i] == b[lb - j:lb - i], most, chunk)


def _shared(same: Callable[[int, int], bool], most: int, chunk: int) -> int:
    """The length shared, up to `most`, where `same(i, j)` says whether bytes i..j-1 (from
    the start or from the end) are alike."""
    i = 0
    while i < most:
        j = min(most, i + chunk)
        if not same(i, j):
            lo, hi = i, j - 1  # the first difference is in lo..hi
            while lo < hi:
                mid = (lo + hi) // 2
                if same(i, mid + 1):
                    lo = mid + 1
                else:
                    hi = mid
            return lo
        i = j
    return most
