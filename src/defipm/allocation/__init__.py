"""Portfolio construction: how a set of chosen assets becomes weights.

One home for the sizing schemes every part uses (TB-N's long and short books, the classifier's set, the learned
allocator's baselines): ``allocate`` gives the relative weights of one side of a book (non-negative, summing to 1)
by a ``Scheme``; ``book_weights`` joins a long side and a short side at a target gross and net exposure.

The covariance-based schemes (minimum variance, hierarchical risk parity) use skfolio (the ``allocation`` extra);
the others are plain numpy.
"""

from defipm.allocation.book import book_weights
from defipm.allocation.schemes import Allocation, Scheme, allocate

__all__ = ["Allocation", "Scheme", "allocate", "book_weights"]
