"""The deployment file: LangGraph CLI's `langgraph.json`, read as LangGraph Server reads it.

`graphs` names what to serve, `dependencies` folders to put on the import path, `env` a
`.env` file or a mapping of environment variables; `http`, `auth`, `store`, `checkpointer` and
`webhooks` become `Settings` values (the environment's `THREADLOOM_*` variables win). Keys that
only build Docker images or that this server does not support are warned about, each by name.
Relative file paths are resolved against the file's folder, so the server can start anywhere.

A file that cannot be used is a `ConfigurationError` whose message is one readable line.

Example:
    >>> config = read_config(Path("langgraph.json"))
    >>> config.apply()  # dependencies on sys.path, env into os.environ
    >>> settings = config.applied_to(settings)
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from threadloom.service.deployment.object_import import (
    ImportFailed,
    is_file_reference,
    split_reference,
)
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_FILE = Path("langgraph.json")
# What is served when there is no deployment file: the agent, from the same module that the
# repository's langgraph.json names by path (so Studio and `threadloom serve` run one factory).
BUILT_IN_GRAPHS = {"agent": "threadloom.service.studio:graph"}

# `http` keys served here, by the Settings field they set.
HTTP_SETTINGS = {
    "app": "http_app",
    "cors": "cors",
    "configurable_headers": "configurable_headers",
    "enable_custom_route_auth": "enable_custom_route_auth",
    "middleware_order": "middleware_order",
}
# Keys read by the parts of the server that implement them, by the Settings field they set.
NESTED_SETTINGS = {
    ("auth", "path"): "auth_path",
    ("store", "index"): "store_index",
    ("checkpointer", "ttl"): "checkpointer_ttl",
}
TOP_LEVEL_KEYS = {
    "graphs",
    "dependencies",
    "env",
    "http",
    "auth",
    "store",
    "checkpointer",
    "webhooks",
}
# Settings fields holding a "file.py:attr" reference, resolved against the file's folder.
REFERENCE_SETTINGS = ("http_app", "auth_path")

Fail = Callable[[str], ConfigurationError]


@dataclass(frozen=True)
class DeploymentConfig:
    """What a deployment file asks for, with every path made absolute."""

    # Where it was read from; None for the built-in default.
    path: Path | None
    # Graph id -> "/abs/file.py:attr" or "package.module:attr", in the file's order.
    graphs: dict[str, str]
    dependencies: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Settings fields the file sets.
    settings: dict[str, Any] = field(default_factory=dict)
    # Keys given that this server does not act on ("http.disable_ui", "python_version", ...).
    unsupported: list[str] = field(default_factory=list)

    def apply(self) -> None:
        """Put the dependencies on the import path (first, so a user's own top-level packages
        are the ones imported) and set `env` where the environment does not already; warn
        about each unsupported key."""
        for folder in reversed(self.dependencies):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        for name, value in self.env.items():
            os.environ.setdefault(name, value)
        for key in self.unsupported:
            logger.warning("%s: key %r is not supported here and is ignored", self.path, key)

    def applied_to(self, settings: Settings) -> Settings:
        """`settings` with the file's values for the fields the environment (or the caller)
        did not set."""
        update = {
            name: value
            for name, value in self.settings.items()
            if name not in settings.model_fields_set
        }
        if not update:
            return settings
        try:
            return Settings.model_validate({**_explicit(settings), **update})
        except ValueError as exc:
            raise ConfigurationError(f"{self.path}: {_first_error(exc)}") from None


def find_config(settings: Settings) -> Path | None:
    """The file to read: the `config` setting, else `./langgraph.json` if it exists."""
    if settings.config is not None:
        return settings.config
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def read_config(path: Path | None) -> DeploymentConfig:
    """Read and check the file at `path` (None: the built-in agent alone)."""
    if path is None:
        return DeploymentConfig(path=None, graphs=dict(BUILT_IN_GRAPHS))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"config file {path} not found (THREADLOOM_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"config file {path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: expected a JSON object")
    return _parse(path.resolve(), raw)


def _parse(path: Path, raw: dict[str, Any]) -> DeploymentConfig:
    folder = path.parent

    def fail(problem: str) -> ConfigurationError:
        return ConfigurationError(f"{path}: {problem}")

    unsupported = sorted(key for key in raw if key not in TOP_LEVEL_KEYS)
    graphs = _graphs(raw.get("graphs"), folder, fail)
    settings: dict[str, Any] = {}
    http = _mapping(raw, "http", fail)
    for key, value in http.items():
        if key in HTTP_SETTINGS:
            settings[HTTP_SETTINGS[key]] = value
        else:
            unsupported.append(f"http.{key}")
    for (section, key), name in NESTED_SETTINGS.items():
        block = _mapping(raw, section, fail)
        for other in sorted(set(block) - {key}):
            unsupported.append(f"{section}.{other}")
        if key in block:
            settings[name] = block[key]
    if "webhooks" in raw:
        settings["webhooks"] = raw["webhooks"]
    for name in REFERENCE_SETTINGS:
        if isinstance(settings.get(name), str):
            settings[name] = _absolute_reference(settings[name], folder)
    index = settings.get("store_index")
    if isinstance(index, dict) and isinstance(index.get("embed"), str) and ":" in index["embed"]:
        # A "file.py:function" embed, as LangGraph reads it (a "provider:model" is left as is).
        settings["store_index"] = {**index, "embed": _absolute_reference(index["embed"], folder)}
    return DeploymentConfig(
        path=path,
        graphs=graphs,
        dependencies=_dependencies(raw.get("dependencies", []), folder, fail),
        env=_env(raw.get("env"), folder, fail),
        settings=settings,
        unsupported=unsupported,
    )


# Files of JS graphs, which LangGraph's JS server serves from the same langgraph.json.
_JS_SUFFIXES = (".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx")


def _graphs(value: Any, folder: Path, fail: Fail) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise fail('"graphs" must map each graph id to "./file.py:variable" or "module:variable"')
    graphs = {}
    for graph_id, entry in value.items():
        # An entry may also be {"path": ..., "description": ...}, as LangGraph accepts.
        source = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(source, str):
            raise fail(f"graph {graph_id!r}: expected 'file.py:variable' or 'module:variable'")
        try:
            split_reference(source)
        except ImportFailed as exc:
            raise fail(f"graph {graph_id!r}: {exc}") from None
        if source.rpartition(":")[0].endswith(_JS_SUFFIXES):
            raise fail(
                f"graph {graph_id!r} ({source}) is a JavaScript graph; threadloom serves Python "
                "graphs only. Serve it with the JS server (npx @langchain/langgraph-cli dev), "
                "and give threadloom a langgraph.json that lists only the Python graphs"
            )
        graphs[graph_id] = _absolute_reference(source, folder)
    return graphs


def _absolute_reference(reference: str, folder: Path) -> str:
    module_or_path, _, attribute = reference.rpartition(":")
    if not is_file_reference(module_or_path):
        return reference
    return f"{(folder / module_or_path).resolve()}:{attribute}"


def _dependencies(value: Any, folder: Path, fail: Fail) -> list[Path]:
    """The local folders among the dependencies. Package names (for `langgraph build`) must be
    installed already; they are not put on the path."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail('"dependencies" must be a list of folders or package names')
    folders = []
    for item in value:
        if not item.startswith((".", "/")):
            continue
        found = (folder / item).resolve()
        if not found.is_dir():
            raise fail(f"dependency {item!r}: no such folder {found}")
        folders.append(found)
    return folders


def _env(value: Any, folder: Path, fail: Fail) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        env_file = folder / value
        if not env_file.is_file():
            # As `langgraph dev`: a missing .env file sets nothing.
            logger.info("env file %s not found: no variables set from it", env_file)
            return {}
        return {name: text for name, text in dotenv_values(env_file).items() if text is not None}
    if isinstance(value, dict):
        return {str(name): str(text) for name, text in value.items()}
    raise fail('"env" must be a path to a .env file or a mapping of variables')


def _mapping(raw: Mapping[str, Any], key: str, fail: Fail) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(f'"{key}" must be an object')
    return value


def _explicit(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.model_fields_set}


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors) and (found := errors()):
        first = found[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg')}"
    return str(exc)
