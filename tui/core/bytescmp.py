"""How two byte strings, or two lists of lines, compare: at C speed for any size.

Slices are compared a block at a time (one memcmp each, or one list compare); only a block
that differs is looked into (a binary search, or smaller slices): linear, with a few
Python steps per block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def differing(a: Sequence[object], b: Sequence[object], alo: int, blo: int, n: int,
              limit: int | None = None) -> list[int] | None:
    """The offsets i < n where a[alo + i] != b[blo + i] (None when more than `limit`): equal
    stretches are skipped a slice at a time, so few differences cost few Python steps."""
    out: list[int] = []
    for big in range(0, n, 1024):
        big_end = min(n, big + 1024)
        if a[alo + big:alo + big_end] == b[blo + big:blo + big_end]:
            continue
        for small in range(big, big_end, 32):
            small_end = min(big_end, small + 32)
            if a[alo + small:alo + small_end] == b[blo + small:blo + small_end]:
                continue
            out += [i for i in range(small, small_end) if a[alo + i] != b[blo + i]]
            if limit is not None and len(out) > limit:
                return None
    return out
