"""``python -m archspec`` is the ``archspec`` command."""

from .cli import main

main()
