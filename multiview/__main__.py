"""``python -m multiview``: the command line."""

from multiview.console import main

main()
