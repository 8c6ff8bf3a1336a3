"""The shape of the house (docs/architecture.md), held by tests: the import graph of dnacnn's
modules has no cycle, counting imports inside functions; no module imports another's private name;
no module is over 500 lines and no function over 80 code lines."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dnacnn"
MAX_MODULE_LINES = 500
MAX_FUNCTION_CODE_LINES = 80


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def resolve(name: str) -> str | None:
    """The dnacnn module ``name`` denotes: itself, or the module holding it (``dnacnn.x.attr``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, tree: ast.Module) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import in ``tree``, at any depth."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names if alias.name.startswith("dnacnn")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.startswith("dnacnn"):
                found += [(base, alias.name, node.lineno) for alias in node.names]
    return found


def edges() -> dict[str, set[str]]:
    graph = {name: set() for name in MODULES}
    for module, tree in TREES.items():
        for base, name, _ in imports(module, tree):
            target = resolve(f"{base}.{name}" if name and f"{base}.{name}" in MODULES else base)
            if target and target != module and target != "dnacnn":  # dnacnn/__init__ holds only __version__
                graph[module].add(target)
    return graph


def test_the_package_root_imports_nothing_so_every_module_may_use_its_version():
    assert not [i for i in imports("dnacnn", TREES["dnacnn"]) if i[0] != "dnacnn"]


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each cycle met by a depth-first walk of ``graph``, as ``a -> b -> a``."""
    cycles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_import_cycle_counting_imports_inside_functions():
    cycles = find_cycles(edges())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_imports_another_modules_private_names():
    private = []
    for module, tree in TREES.items():
        aliases = {}  # local name -> dnacnn module, for attribute access such as splits._take
        for base, name, line in imports(module, tree):
            if name.startswith("_") and not name.startswith("__"):
                private.append(f"{MODULES[module].name}:{line} imports {base}.{name}")
            if name and f"{base}.{name}" in MODULES:
                aliases[name] = f"{base}.{name}"
        for node in ast.walk(tree):
            for alias in getattr(node, "names", []) if isinstance(node, ast.ImportFrom | ast.Import) else []:
                if alias.asname and alias.name in aliases:
                    aliases[alias.asname] = aliases[alias.name]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                private.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not private, "\n".join(private)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_and_function_sizes(module):
    path = MODULES[module]
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{module}: {len(lines)} lines; split it by job"
    long = []
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = lines[node.lineno - 1 : node.end_lineno]
            code = sum(1 for line in body if line.strip() and not line.strip().startswith("#"))
            if code > MAX_FUNCTION_CODE_LINES:
                long.append(f"{node.name} ({code} code lines)")
    assert not long, f"{module}: " + ", ".join(long)


def test_every_module_starts_with_a_docstring_of_its_contract():
    assert not [m for m, tree in TREES.items() if MODULES[m].stat().st_size and not ast.get_docstring(tree)]


def test_docs_architecture_lists_every_module_and_no_other():
    """docs/architecture.md tells the truth about the layout: one line per module, none missing or gone."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"`(dnacnn/[\w/]+\.py)`", page))
    actual = {str(path.relative_to(PACKAGE.parent)) for path in MODULES.values()}
    assert not actual - listed, f"not on docs/architecture.md: {sorted(actual - listed)}"
    assert not listed - actual, f"on docs/architecture.md but gone: {sorted(listed - actual)}"
