"""Importing what the deployment file names: `"/path/to/file.py:attr"` or `"package.module:attr"`.

The same reference form serves `graphs`, `http.app`, `auth.path` and `store.index.embed`, as in
LangGraph Server. A file is imported as a module of its own (named after its path, registered in
`sys.modules` so that pickling and type hints work); its folder is not put on the import path
(list it in `dependencies` for that). Relative file paths must be resolved by the caller (the
deployment file resolves them against its own folder).

Example:
    >>> app = import_object("/srv/app/webapp.py:app")
    >>> graph = import_object("my_agent.graph:graph")
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


class ImportFailed(Exception):
    """The reference names no importable object; the message says why, on one line."""


def is_file_reference(module_or_path: str) -> bool:
    """Whether the part before `:` is a file path (as LangGraph decides: it holds a `/`)."""
    return "/" in module_or_path or module_or_path.endswith(".py")


def split_reference(reference: str) -> tuple[str, str]:
    """`(module or path, attribute)`; ImportFailed when there is no `:attr`."""
    module_or_path, colon, attribute = reference.rpartition(":")
    if not colon or not module_or_path or not attribute:
        raise ImportFailed(
            f"{reference!r} names no variable: use 'path/to/file.py:variable' or "
            "'package.module:variable'"
        )
    return module_or_path, attribute


def import_object(reference: str) -> Any:
    """The object `reference` names; ImportFailed (one line) if it cannot be had.

    An exception raised by the imported code itself is reported the same way, with its type.
    """
    module_or_path, attribute = split_reference(reference)
    try:
        if is_file_reference(module_or_path):
            module = _import_file(Path(module_or_path))
        else:
            module = importlib.import_module(module_or_path)
    except ImportFailed:
        raise
    except Exception as exc:
        raise ImportFailed(f"importing {module_or_path} failed: {one_line(exc)}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        exports = [name for name in vars(module) if not name.startswith("_")]
        raise ImportFailed(
            f"{module_or_path} has no {attribute!r} (it defines: {', '.join(exports) or 'nothing'})"
        ) from None


def one_line(exc: BaseException) -> str:
    """`Type: message` on a single line."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ImportFailed(f"no such file: {path}")
    name = _module_name(path)
    if (loaded := sys.modules.get(name)) is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportFailed(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _module_name(path: Path) -> str:
    """A module name of its own for a file, from its absolute path: never a bare common name
    such as `graph` that would shadow (or be shadowed by) a package of the same name."""
    stem = re.sub(r"\W", "_", str(path.resolve().with_suffix("")).strip("/"))
    return f"threadloom_user__{stem}"
