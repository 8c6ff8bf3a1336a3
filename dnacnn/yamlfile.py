"""YAML that users bring (model specs, tune search spaces), read with bounded time and memory.

Contract: :func:`read_yaml` reads a file and :func:`parse_yaml` a text into plain Python values
(``yaml.safe_load`` semantics: no Python objects, no code) and every problem is one
:class:`~dnacnn.errors.DnacnnError` line naming the source (and line, for syntax errors).  A
hostile or broken file is refused before it can grow: the file may hold at most
:data:`MAX_YAML_BYTES`; the document at most :data:`MAX_ALIASES` aliases (``*name``), nesting
:data:`MAX_DEPTH` deep and :data:`MAX_NODES` values once every alias is expanded (a 456-byte
'billion laughs' anchor bomb expands to billions), and no alias may contain itself.  The
limits are checked on the composed node graph, before any Python object is built.
Every place dnacnn reads YAML goes through here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from dnacnn.errors import DnacnnError

MAX_YAML_BYTES = 256 << 10  # a spec or a search space is a few kB
MAX_ALIASES = 1000
MAX_DEPTH = 100
MAX_NODES = 100_000  # scalars, lists and mappings, aliases expanded


class _Refused(Exception):
    """A limit crossed by the composed document; :func:`parse_yaml` turns it into one line."""


# libyaml's parser (when PyYAML has it) is ~10x faster and caps nesting itself; the pure-Python
# one is the fallback.  Both compose the same node graph, which is checked before construction.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | os.PathLike, what: str = "YAML file") -> Any:
    """The YAML file ``path`` (a ``what``: the message of a missing file names it) as plain values."""
    path = Path(path)
    if not path.is_file():
        raise DnacnnError(f"{path}: no such {what}; check the path")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise DnacnnError(
            f"{path}: {size:,} bytes is too big for a {what} (limit {MAX_YAML_BYTES:,}); is it the right file?"
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)  # a file that grew (or a pipe) is still read no further
    except OSError as e:
        raise DnacnnError(f"{path}: cannot read the {what} ({e.strerror}); check its permissions") from None
    if len(raw) > MAX_YAML_BYTES:
        raise DnacnnError(f"{path}: more than {MAX_YAML_BYTES:,} bytes is too big for a {what}; is it the right file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DnacnnError(f"{path}: not UTF-8 text (byte {e.start + 1}); save the {what} as UTF-8") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> Any:
    """YAML ``text`` as plain values; errors name ``source`` (and the line of a syntax error)."""
    if len(text) > MAX_YAML_BYTES:
        raise DnacnnError(f"{source}: more than {MAX_YAML_BYTES:,} characters is too big for YAML input")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except _Refused as e:
        raise DnacnnError(f"{source}: YAML {e}; write the values out plainly") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DnacnnError(f"{where}: invalid YAML ({problem}); fix the syntax") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4300 digits
        raise DnacnnError(f"{source}: unreadable YAML value ({str(e).split(':')[0][:80]}); fix the value") from None
    finally:
        loader.dispose()


def _check_graph(root: yaml.Node) -> None:
    """Refuse a node graph that holds itself, nests deeper than :data:`MAX_DEPTH`, holds more
    than :data:`MAX_ALIASES` aliases or expands (aliases followed) past :data:`MAX_NODES` values.

    An alias is a second reference to a node, so the graph is small however large its expansion;
    each node's expanded size and depth are computed once (iteratively, children first), so the
    check is linear in the document."""
    size: dict[int, tuple[int, int]] = {}  # id -> (expanded values, depth)
    open_nodes: set[int] = set()
    edges = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = [size[id(child)] for child in _children(node)]
            edges += len(children)
            values = 1 + sum(n for n, _ in children)
            depth = 1 + max((d for _, d in children), default=0)
            if values > MAX_NODES:
                raise _Refused(f"expands to more than {MAX_NODES:,} values (aliases of aliases)")
            if depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
            size[key] = (values, depth)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _Refused("alias refers to itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
        if len(open_nodes) > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
    if edges - (len(size) - 1) > MAX_ALIASES:
        raise _Refused(f"more than {MAX_ALIASES} aliases (*name)")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
