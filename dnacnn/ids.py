"""What a record ID is, checked once where IDs enter dnacnn, so that they round-trip exactly.

Contract: an ID is one non-empty token of printable characters (``str.isprintable``) without a
space: no whitespace of any kind, no control or format characters (NUL, ESC, U+FEFF, ...), no line
or paragraph separators (``\\r``, U+0085, U+2028, U+2029 and every other ``str.splitlines``
boundary) and no U+FFFD (what bytes that are not UTF-8 are read as).  Such an ID is one line of a
store's ``ids.txt`` and one cell of every TSV dnacnn writes, so row ``i`` of an output always
carries the ID of record ``i``.  :func:`check_ids` checks a chunk of IDs (in bulk: a few numpy
passes over their UTF-8 bytes when they are ASCII) and returns them as newline-terminated UTF-8
lines, the bytes ``ids.txt`` stores; :func:`check_id` checks one.  A bad ID is a one-line
:class:`~dnacnn.errors.InputError` naming the file, the line (where known), the record and the ID,
shown with :func:`shown` (non-printable characters escaped, so the message itself stays one line);
:func:`problem` and :func:`describe` say what is wrong with one ID and one character.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence

import numpy as np

from dnacnn.errors import InputError

FIX = "rename it: an ID is one word of printable characters (no space, tab, control character or line break)"
_FIRST_PRINTABLE, _LAST_PRINTABLE, _NL = ord("!"), ord("~"), ord("\n")  # ASCII '!'..'~': the good bytes
_SHOWN_CHARS = 60


def problem(rid: str) -> str | None:
    """What is wrong with the ID ``rid`` (e.g. ``holds a tab``), or None when it is a good ID."""
    if not isinstance(rid, str):
        return f"is not text ({type(rid).__name__})"
    if not rid:
        return "is empty"
    if rid.isprintable() and " " not in rid and "\ufffd" not in rid:
        return None
    for c in rid:
        if c == "\ufffd" or c == " " or not c.isprintable():
            return f"holds {describe(c)}"
    return None


def check_id(rid: str, path: str | os.PathLike, where: str | None = None, what: str = "record", fix: str = FIX) -> str:
    """``rid`` when it is a good ID, else a one-line :class:`InputError` (``where``: the line, or
    None; ``what``: the thing the ID names, e.g. ``record 3``)."""
    bad = problem(rid)
    if bad is not None:
        raise InputError(path, where, f"{what} has the ID '{shown(str(rid))}', which {bad}", fix)
    return rid


def check_ids(
    ids: Sequence[str],
    path: str | os.PathLike,
    lines: Sequence[int] | np.ndarray | None = None,
    first: int = 1,
    what: str = "record",
    fix: str = FIX,
    encoded: bytes | None = None,
) -> bytes:
    """The IDs as newline-terminated UTF-8 lines, after checking every one of them.

    Parameters
    ----------
    ids : sequence of str
        The IDs of consecutive records.
    path : path
        The file named in the error.
    lines : sequence of int, optional
        1-based line of each record in ``path`` (None: records are named by number only).
    first : int
        The 1-based number of the first record in ``path`` (for chunks after the first).
    what : str
        What an ID names (``record``, ``individual``, ``sample``).
    encoded : bytes, optional
        ``ids`` as newline-terminated UTF-8 when the reader made them already (checked, not made).

    Raises
    ------
    InputError
        ``FILE:LINE: record N has the ID '...', which holds ...; fix`` for the first bad ID.
    """
    if not len(ids):
        return b""
    if encoded is None:
        try:
            encoded = ("\n".join(ids) + "\n").encode("utf-8", errors="surrogatepass")
        except TypeError:  # not all str: found by the per-ID pass below
            encoded = b""
    if _all_good(encoded, len(ids)):
        return encoded
    for i, rid in enumerate(ids):
        if problem(rid) is not None:
            where = None if lines is None else str(int(lines[i]))
            check_id(rid, path, where, f"{what} {first + i}", fix)
    raise AssertionError("a bad ID was found in bulk but not one by one")  # pragma: no cover


def shown(text: str) -> str:
    """``text`` for a one-line message: characters that are not printable escaped (``\\t``,
    ``\\u2028``), cut after 60 characters."""
    cut = text[:_SHOWN_CHARS]
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)
    return cut + ("..." if len(text) > _SHOWN_CHARS else "")


def _all_good(encoded: bytes, n: int) -> bool:
    """Each of the ``n`` lines of ``encoded`` (UTF-8, each line ending in ``\\n``) is a good ID."""
    a = np.frombuffer(encoded, np.uint8)
    if not len(a):
        return False
    if a.max() > _LAST_PRINTABLE:  # DEL, or (rare) text beyond ASCII: the full Unicode test
        return not encoded.isascii() and _all_good_unicode(encoded.decode("utf-8", errors="replace"), n)
    ends = np.flatnonzero(a < _FIRST_PRINTABLE)  # must be the n newlines, none right after another
    return len(ends) == n and not (a[ends] != _NL).any() and ends[0] > 0 and not (np.diff(ends) == 1).any()


def _all_good_unicode(text: str, n: int) -> bool:
    body = text.replace("\n", "!")
    return (
        text.count("\n") == n
        and not text.startswith("\n")
        and "\n\n" not in text
        and body.isprintable()
        and " " not in body
        and "\ufffd" not in body
    )


def describe(c: str) -> str:
    """The character ``c`` in a message: ``a tab``, ``a space`` or ``U+2028 (LINE SEPARATOR)``."""
    named = {" ": "a space", "\t": "a tab", "\n": "a line break (\\n)", "\r": "a carriage return (\\r)"}
    if c in named:
        return named[c]
    if c == "\ufffd":
        return "U+FFFD (bytes that are not UTF-8?)"
    if c == "\ufeff":
        return "U+FEFF (a byte-order mark)"
    name = unicodedata.name(c, "") or {"Cc": "a control character"}.get(unicodedata.category(c), "not printable")
    return f"U+{ord(c):04X} ({name})"
