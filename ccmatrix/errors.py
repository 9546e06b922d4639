"""ccmatrix's one exception base.

Every error ccmatrix raises on purpose derives from `CcmatrixError` and names
what is wrong and where (a file, an option, a cell). The command line and the
pytest plugin catch this one class: a user sees one line and exit 2, never a
traceback, for anything ccmatrix could have told them in words.
"""

from __future__ import annotations


class CcmatrixError(Exception):
    """Bad input or a broken part, described in one line for the user."""
