"""The paper venue: a simulated exchange used for paper trading and, fed with history, for backtests."""

from defipm.venues.paper.fill_model import SlippageModel
from defipm.venues.paper.params import PaperMode
from defipm.venues.paper.venue import PaperVenue

__all__ = ["PaperMode", "PaperVenue", "SlippageModel"]
