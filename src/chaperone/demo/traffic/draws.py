"""Fast seeded draws that every source of the traffic shares."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """A random item; faster than Random.choice, which matters at 200,000 records."""
    return items[int(rng.random() * len(items))]


def weighted(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """A random item by cumulative weights."""
    return items[bisect.bisect_right(cum_weights, rng.random() * cum_weights[-1])]
