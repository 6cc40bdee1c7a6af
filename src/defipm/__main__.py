"""``python -m defipm``: the ``defipm`` command."""

from defipm.cli import main

main()
