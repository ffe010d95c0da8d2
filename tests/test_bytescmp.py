"""common_prefix / common_suffix against a byte-by-byte walk, at block sizes down to 1."""

from __future__ import annotations

import random

import pytest

from tui.core.bytescmp import common_prefix, common_suffix


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 16])
def test_shared_lengths_match_a_byte_walk(chunk: int) -> None:
    rnd = random.Random(chunk)
    for _ in range(500):
        a = bytes(rnd.randrange(3) for _ in range(rnd.randrange(300)))
        b = bytearray(a)
        if b and rnd.random() < 0.8:
            b[rnd.randrange(len(b))] ^= 1
        b += bytes(rnd.randrange(3) for _ in range(rnd.randrange(3)))
        most = min(len(a), len(b))
        want_p = next((k for k in range(most) if a[k] != b[k]), most)
        want_s = next((k for k in range(most) if a[-1 - k] != b[-1 - k]), most)
        assert common_prefix(a, bytes(b), most, chunk) == want_p
        assert common_suffix(a, bytes(b), most, chunk) == want_s
