"""JSON files dnacnn reads back (a store's manifest, an evaluation's metrics.json), parsed with limits.

Contract: :func:`parse_json` turns the bytes of such a file into its value, or raises the one-line
error ``fail(problem)`` gives when they are not UTF-8 JSON or nest deeper than :data:`MAX_DEPTH`
lists / objects (the parser's own recursion is caught too, so a ``[[[[...`` file is one line, not a
traceback); :func:`read_json` reads at most ``limit`` bytes of a binary file first and refuses a
larger one.  Each caller checks the fields it uses afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable

MAX_DEPTH = 64  # dnacnn writes at most 4 levels; 64 leaves room and keeps every reader's recursion shallow


def _escaped(text: str) -> str:
    return text if text.isprintable() else ascii(text)[1:-1]


def parse_json(data: bytes, fail: Callable[[str], Exception], what: str = "JSON file"):
    """The value of the JSON text ``data``; ``fail(problem)`` when it is not one (see the module)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise fail(f"is not a JSON {what} (nested more than {MAX_DEPTH} levels deep)") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many integer digits
        raise fail(f"is not a JSON {what} ({_escaped(str(e))[:200]})") from None
    stack = [(value, 1)]
    while stack:  # iterative, so checking the depth cannot itself recurse
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    raise fail(f"is not a JSON {what} (nested more than {MAX_DEPTH} levels deep)")
                stack.append((child, depth + 1))
    return value


def read_json(f, limit: int, fail: Callable[[str], Exception], what: str = "JSON file"):
    """The value of the binary file ``f`` (read to its end, at most ``limit`` bytes)."""
    data = f.read(limit + 1)
    if len(data) > limit:
        raise fail(f"is more than {limit:,} bytes, larger than any JSON {what} dnacnn writes")
    return parse_json(data, fail, what)
