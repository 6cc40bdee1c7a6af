"""The token classifier: a point-in-time screen of a wide token universe, written in SQL and run by DuckDB.

``Classifier(view, ScreenConfig(...)).classify(t)`` answers a ``Classification``: every token of the data at t with
its metrics (return, moving averages, dollar volume, Sortino), kept or excluded, and the first rule each excluded
token fails. ``defipm.oracles.classifier.ClassifierOracle`` rotates a portfolio through the kept sets;
``defipm classify`` prints, saves and charts one answer. Category tags ship as ``tags.csv`` (``defipm.classify.tags``).

Needs the ``backtest`` extra (DuckDB, pandas, pyarrow; Plotly for the chart).
"""

from defipm.classify.config import RULES, ScreenConfig
from defipm.classify.result import Classification
from defipm.classify.screen import Classifier, InsufficientHistoryError
from defipm.classify.tags import CATEGORIES, TagTable, load_tag_file, shipped_tags

__all__ = [
    "CATEGORIES",
    "RULES",
    "Classification",
    "Classifier",
    "InsufficientHistoryError",
    "ScreenConfig",
    "TagTable",
    "load_tag_file",
    "shipped_tags",
]
