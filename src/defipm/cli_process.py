"""What the ``defipm`` command sets for its own process, and nothing else does (the app run in a caller's process,
as tests do, leaves the caller's settings alone):

- pydantic's plugins are off (``PLUGINS_OFF``) unless ``PYDANTIC_DISABLE_PLUGINS`` is set;
- the objects a command builds before its work (modules, classes, settings, the portfolio: ``built_heap``) are
  built with the cyclic garbage collector paused, then frozen (``gc.freeze``), so the collections made while the
  command works, and the interpreter's at exit, do not walk them again. They live as long as the process anyway;
  the collector runs as before for what the work allocates.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

PLUGINS_OFF = ("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""pydantic looks for plugins (the entry points of every installed distribution: ~7 ms of each command) at the
first model it builds; defipm uses none, so its command turns that off unless the variable is set already (an
empty value loads them again)."""

_command_process = False
"""True once ``set_up`` ran: this process is the ``defipm`` command."""


def set_up() -> None:
    """Called first by the ``defipm`` command (``cli.main``): pydantic plugins off unless the user set the
    variable, and ``built_heap`` active."""
    global _command_process
    os.environ.setdefault(*PLUGINS_OFF)
    _command_process = True


@contextmanager
def built_heap() -> Iterator[None]:
    """Around the building of what a command then works with (``cli._open``): in the ``defipm`` command's own
    process, the collector is paused while it is built, and everything alive afterwards is moved to the
    collector's permanent generation (``gc.freeze``) and the collector resumed. A 10-order rebalance then ends
    ~0.1 s sooner, mostly at exit (the interpreter's last collections walk only what was not frozen); a ``run``
    keeps its collections small. Elsewhere (a test or a program calling the app) it does nothing."""
    if not _command_process:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
