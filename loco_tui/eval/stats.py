"""The statistics an eval report needs, small enough to check by hand.

- ``wilson``: the Wilson score interval of a proportion. Unlike the textbook p ± 1.96·SE
  it never leaves 0..1 and stays honest for the small samples an eval of ten cases gives
  (3 of 4 right: 30%–95%, not 33%–117%).
- ``mcnemar_exact``: whether two strategies answered the *same* cases differently by more
  than chance. Only discordant cases carry information (one right, the other wrong); under
  "no difference" each discordant case favours either side with probability 1/2, so the
  two-sided p-value is twice the binomial tail of the smaller count (capped at 1).
- ``jaccard``: how alike two proposals are, as sets of lower-cased word tokens; the mean
  over pairs says whether an ensemble's members said different things at all.
- ``effective_members``: n members with mean pairwise similarity s count as about
  n / (1 + (n - 1)·s) independent ones (the design effect of correlated samples, with the
  similarity standing in for the correlation): three identical proposals count as one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from itertools import combinations

from loco_tui.store.stats import percentile

__all__ = [
    "Z95",
    "effective_members",
    "jaccard",
    "mcnemar_exact",
    "mean_pairwise_jaccard",
    "median",
    "percentile",
    "tokens",
    "wilson",
]

# The two-sided 95% quantile of the standard normal distribution.
Z95 = 1.959963984540054

_TOKEN = re.compile(r"\w+")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval (low, high) of ``k`` successes in ``n`` trials; None when
    there were no trials."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes in {n} trials")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # Rounding must not push an exact 0 or 1 outside the interval.
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """The exact two-sided McNemar p-value from the discordant counts: ``only_a`` cases
    only A got right, ``only_b`` only B. 1.0 when there are none."""
    if only_a < 0 or only_b < 0:
        raise ValueError("counts cannot be negative")
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1))
    # Exact integers, one rounding at the end (floats would overflow beyond ~1000 pairs).
    return min(1.0, float(Fraction(2 * tail, 2**n)))


def median(values: Sequence[float]) -> float | None:
    return percentile(list(values), 0.5)


def tokens(text: str) -> frozenset[str]:
    """The set of lower-cased word tokens of ``text``."""
    return frozenset(_TOKEN.findall(text.lower()))


def jaccard(a: str, b: str) -> float:
    """|A ∩ B| / |A ∪ B| of the two texts' token sets; two empty texts are identical (1)."""
    ta, tb = tokens(a), tokens(b)
    union = ta | tb
    if not union:
        return 1.0
    return len(ta & tb) / len(union)


def mean_pairwise_jaccard(texts: Sequence[str]) -> float | None:
    """The mean Jaccard similarity over every pair of ``texts``; None for fewer than two."""
    pairs = list(combinations(texts, 2))
    if not pairs:
        return None
    return sum(jaccard(a, b) for a, b in pairs) / len(pairs)


def effective_members(n: int, similarity: float) -> float:
    """About how many independent proposals ``n`` proposals with this mean similarity are
    worth (see the module docstring)."""
    if n <= 0:
        return 0.0
    s = min(max(similarity, 0.0), 1.0)
    return n / (1 + (n - 1) * s)
