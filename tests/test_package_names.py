"""threadloom occupies no generic top-level module name, so a user's own `graphs`, `models`,
`tools`, `utils` or `service` packages can share its process (`test_user_app.py` shows one
doing so): every import of its code goes through `threadloom.*`."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERIC = {"graphs", "models", "tools", "service", "utils"}
OURS = ["graphs", "models", "tools", "service", "bench", "tests"]


def bare_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(REPO)}:{node.lineno} {name}"
            for name in names
            if name.split(".")[0] in GENERIC
        ]
    return found


def test_no_module_of_ours_imports_a_generic_top_level_name() -> None:
    offending = [
        line
        for folder in OURS
        for path in sorted((REPO / folder).rglob("*.py"))
        for line in bare_imports(path)
    ]
    assert offending == []
