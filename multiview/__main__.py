"""``python -m multiview``: the command line."""

from multiview.cli import main

main()
