"""The house rules of the source folders, checked on the code itself: a small service root,
small modules and functions, all SQL under service/storage/, no private name imported across
modules, no import cycle. Tests and bench are left out; so is models/tiny_model_kit, the
bundled model's dev-only training kit (run by `make tiny-model`, not shipped).

What must remain against a rule is listed below with its reason; an entry that no longer
breaks its rule fails the test too, so the lists only shrink.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("graphs", "models", "tools", "service")
LEFT_OUT = ("models/tiny_model_kit",)
MAX_SERVICE_ROOT_MODULES = 8
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# A statement, not a word in prose: the keyword followed by what SQL puts after it.
SQL = re.compile(
    r"\b(SELECT\s[\s\S]*?\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s)"
)

# path -> why it is still longer than MAX_MODULE_LINES.
LONG_MODULES: dict[str, str] = {}
# "path:function" -> why it is still longer than MAX_FUNCTION_LINES.
LONG_FUNCTIONS: dict[str, str] = {}
# "importer -> module._name" -> why the private name is still imported.
PRIVATE_IMPORTS: dict[str, str] = {}
# Sorted module names of one import cycle -> why it remains.
CYCLES: dict[tuple[str, ...], str] = {}


def source_files() -> Iterator[Path]:
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(LEFT_OUT):
                yield path


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = ["threadloom", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in source_files()}


def test_the_service_root_holds_few_modules() -> None:
    root = [p.name for p in (ROOT / "service").glob("*.py") if p.name != "__init__.py"]
    assert len(root) <= MAX_SERVICE_ROOT_MODULES, sorted(root)


def test_no_module_is_too_long() -> None:
    long = {
        relative(path)
        for path in source_files()
        if len(path.read_text().splitlines()) > MAX_MODULE_LINES
    }
    assert long == set(LONG_MODULES)


def test_no_function_is_too_long() -> None:
    long = set()
    for path in source_files():
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.add(f"{relative(path)}:{node.name}")
    assert long == set(LONG_FUNCTIONS)


def test_sql_statements_are_only_in_storage() -> None:
    outside = set()
    for path in source_files():
        if relative(path).startswith("service/storage/"):
            continue
        for node in ast.walk(tree(path)):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and SQL.search(node.value):
                outside.add(relative(path))
    assert outside == set()


def imports(path: Path, *, module_level: bool) -> Iterator[tuple[str, list[str]]]:
    """(imported module, names) of each of the file's imports of our own modules; with
    `module_level`, only those run when the module is imported (not in functions, nor under
    `if TYPE_CHECKING:`)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = _module_level(tree(path).body) if module_level else ast.walk(tree(path))
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.startswith("threadloom."):
                yield base, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("threadloom."):
                    yield alias.name, []


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.If | ast.Try):
            yield from _module_level(node.body)
            yield from _module_level(getattr(node, "orelse", []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def test_no_private_name_is_imported_across_modules() -> None:
    private = set()
    for path in source_files():
        for module, names in imports(path, module_level=False):
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    private.add(f"{module_name(path)} -> {module}.{name}")
    assert private == set(PRIVATE_IMPORTS)


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for module, names in imports(path, module_level=True):
            for target in [f"{module}.{n}" for n in names] or [module]:
                if target in known:
                    graph[name].add(target)
                elif module in known:
                    graph[name].add(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def test_no_import_cycle_among_modules() -> None:
    # A package's __init__ importing its own modules is how a package exposes its names,
    # not a cycle between two ideas: those edges are left out.
    graph = {
        name: {t for t in targets if not (is_package(name) and t.startswith(f"{name}."))}
        for name, targets in import_graph().items()
    }
    assert set(cycles(graph)) == set(CYCLES)


def test_sse_responses_are_built_in_one_place() -> None:
    builders = set()
    for path in source_files():
        for node in ast.walk(tree(path)):
            called = isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                "EventSourceResponse"
            )
            if called:
                builders.add(relative(path))
    assert builders == {"service/http/sse.py"}
