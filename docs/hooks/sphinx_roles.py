"""A griffe extension: read the docstrings' Sphinx roles as plain code spans.

Some docstrings name other objects as ``:func:`run_simulation``` or
``:class:`~multiview.ConfigError```. Markdown has no such roles, so the site would show the
role's text; this extension turns each one into the code span Sphinx would display
(``run_simulation``, ``ConfigError``: a leading ``~`` keeps the last component). The
docstrings themselves are unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|const):`(~?)([^`]+)`")


def _code_span(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code_span, obj.docstring.value)
