"""The deployment file (`langgraph.json`): what it serves, what it sets, what it warns about, and
`threadloom serve --config` refusing a file it cannot serve with one line and exit status 2."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server_process import REPO
from threadloom.service.cli.commands import main
from threadloom.service.deployment.config import BUILT_IN_GRAPHS, find_config, read_config
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings

GRAPH_FILE = """
from langgraph.graph import StateGraph
from typing_extensions import TypedDict

class State(TypedDict):
    n: int

builder = StateGraph(State)
builder.add_node("step", lambda state: {"n": state["n"] + 1})
builder.set_entry_point("step")
graph = builder.compile()
"""


def write(folder: Path, config: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A copy of the environment that this test may change (applying a config writes to it)."""
    copy = dict(os.environ)
    monkeypatch.setattr(os, "environ", copy)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return copy


def test_every_key_lands_where_it_is_read(tmp_path: Path, environ: dict[str, str]) -> None:
    path = write(
        tmp_path,
        {
            "dependencies": [".", "./lib", "langchain-openai"],
            "graphs": {
                "counter": "./src/counter.py:graph",
                "module": "my_pkg.graphs:make_graph",
                "described": {"path": "./src/counter.py:graph", "description": "the same"},
            },
            "env": {"SAMPLE_VARIABLE": "from the file"},
            "http": {
                "app": "./web.py:app",
                "cors": {"allow_origins": ["https://a.example"]},
                "configurable_headers": {"include": ["x-user-*"]},
                "middleware_order": "auth_first",
                "enable_custom_route_auth": True,
                "disable_ui": True,
            },
            "auth": {"path": "./auth.py:auth", "openapi": {}},
            "store": {"index": {"embed": "./embed.py:embed", "dims": 3}, "ttl": {}},
            "checkpointer": {"ttl": {"strategy": "delete", "default_ttl": 60}},
            "webhooks": {"url": {"allowed_domains": ["example.com"]}},
            "python_version": "3.11",
            "dockerfile_lines": [],
        },
        {"lib/.keep": ""},
    )
    config = read_config(path)

    assert config.graphs == {
        "counter": f"{tmp_path / 'src' / 'counter.py'}:graph",
        "module": "my_pkg.graphs:make_graph",
        "described": f"{tmp_path / 'src' / 'counter.py'}:graph",
    }
    assert config.dependencies == [tmp_path, tmp_path / "lib"]
    assert config.settings == {
        "http_app": f"{tmp_path / 'web.py'}:app",
        "cors": {"allow_origins": ["https://a.example"]},
        "configurable_headers": {"include": ["x-user-*"]},
        "middleware_order": "auth_first",
        "enable_custom_route_auth": True,
        "auth_path": f"{tmp_path / 'auth.py'}:auth",
        "store_index": {"embed": f"{tmp_path / 'embed.py'}:embed", "dims": 3},
        "checkpointer_ttl": {"strategy": "delete", "default_ttl": 60},
        "webhooks": {"url": {"allowed_domains": ["example.com"]}},
    }
    assert config.unsupported == [
        "dockerfile_lines",
        "python_version",
        "http.disable_ui",
        "auth.openapi",
        "store.ttl",
    ]

    settings = config.applied_to(Settings(db=tmp_path / "t.sqlite"))
    assert settings.store_index == {"embed": f"{tmp_path / 'embed.py'}:embed", "dims": 3}
    module_embed = {"graphs": {"g": "m:g"}, "store": {"index": {"embed": "openai:small"}}}
    read = read_config(write(tmp_path, module_embed))
    assert read.settings["store_index"] == {"embed": "openai:small"}
    assert settings.auth_path == f"{tmp_path / 'auth.py'}:auth"
    assert settings.middleware_order == "auth_first" and settings.db == tmp_path / "t.sqlite"


def test_applying_puts_dependencies_first_sets_env_and_warns_per_key(
    tmp_path: Path, environ: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    environ["ALREADY_SET"] = "by the environment"
    (tmp_path / ".env").write_text("FROM_DOTENV=yes\nALREADY_SET=by the file\n")
    path = write(
        tmp_path,
        {"graphs": {"g": "./g.py:graph"}, "env": ".env", "image_distro": "wolfi", "ui": {}},
    )
    with caplog.at_level(logging.WARNING):
        read_config(path).apply()
    assert str(tmp_path) not in sys.path  # no dependencies given
    assert environ["FROM_DOTENV"] == "yes" and environ["ALREADY_SET"] == "by the environment"
    warned = [record.getMessage() for record in caplog.records]
    assert [line.split(": ", 1)[1] for line in warned] == [
        "key 'image_distro' is not supported here and is ignored",
        "key 'ui' is not supported here and is ignored",
    ]

    write(tmp_path, {"graphs": {"g": "./g.py:graph"}, "dependencies": ["."]})
    read_config(tmp_path / "langgraph.json").apply()
    assert sys.path[0] == str(tmp_path)


def test_the_environment_wins_over_the_file(tmp_path: Path, environ: dict[str, str]) -> None:
    environ["THREADLOOM_MIDDLEWARE_ORDER"] = "middleware_first"
    environ["THREADLOOM_CORS_ORIGINS"] = "https://b.example"
    path = write(
        tmp_path,
        {
            "graphs": {"g": "./g.py:graph"},
            "http": {"middleware_order": "auth_first", "cors": {"allow_origins": ["https://a"]}},
        },
    )
    settings = read_config(path).applied_to(Settings())
    assert settings.middleware_order == "middleware_first"
    assert settings.cors_origins == ["https://b.example"]
    assert settings.cors == {"allow_origins": ["https://a"]}  # cors_origins replaces its origins


def test_without_a_file_the_built_in_agent_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config(Settings()) is None
    assert read_config(None).graphs == BUILT_IN_GRAPHS
    (tmp_path / "langgraph.json").write_text("{}")
    assert find_config(Settings()) == Path("langgraph.json")
    assert find_config(Settings(config=tmp_path / "other.json")) == tmp_path / "other.json"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        ("{}", '"graphs" must map each graph id'),
        ('{"graphs": {"g": "./g.py"}}', "graph 'g': './g.py' names no variable"),
        ('{"graphs": {"g": 3}}', "graph 'g': expected 'file.py:variable'"),
        ('{"graphs": {"g": "./src/graph.ts:graph"}}', "is a JavaScript graph; threadloom serves"),
        ('{"graphs": {"g": "m:g"}, "dependencies": ["./absent"]}', "dependency './absent'"),
        ('{"graphs": {"g": "m:g"}, "env": 3}', '"env" must be a path'),
        ('{"graphs": {"g": "m:g"}, "http": []}', '"http" must be an object'),
        ('{"graphs": {"g": "m:g"}, "http": {"middleware_order": "x"}}', "middleware_order"),
    ],
)
def test_an_unusable_file_is_one_line_naming_the_problem(
    tmp_path: Path, environ: dict[str, str], text: str, problem: str
) -> None:
    path = tmp_path / "langgraph.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as refused:
        read_config(path).applied_to(Settings())
    message = str(refused.value)
    assert problem in message and str(path) in message and "\n" not in message


@pytest.mark.parametrize(
    ("graphs", "files", "expected"),
    [
        ({"g": "./missing.py:graph"}, {}, "graph 'g' ({dir}/missing.py:graph): no such file"),
        (
            {"g": "./broken.py:graph"},
            {"broken.py": "import nowhere_to_be_found\n"},
            "graph 'g' ({dir}/broken.py:graph): importing {dir}/broken.py failed: "
            "ModuleNotFoundError: No module named 'nowhere_to_be_found'",
        ),
        (
            {"g": "./raises.py:graph"},
            {"raises.py": "raise RuntimeError('no API key\\nset')\n"},
            "graph 'g' ({dir}/raises.py:graph): importing {dir}/raises.py failed: "
            "RuntimeError: no API key set",
        ),
        (
            {"g": "./ok.py:grap"},
            {"ok.py": GRAPH_FILE},
            "graph 'g' ({dir}/ok.py:grap): {dir}/ok.py has no 'grap' (it defines: ",
        ),
        (
            {"g": "./value.py:graph"},
            {"value.py": "graph = 42\n"},
            "graph 'g' ({dir}/value.py:graph): int is neither a graph nor a factory",
        ),
        ({"g": "no_such_package.graphs:graph"}, {}, "No module named 'no_such_package'"),
        (
            {"g": "./two.py:make"},
            {"two.py": "def make(config, other):\n    pass\n"},
            "graph 'g': a graph factory takes nothing or the run's config, not config, other",
        ),
    ],
)
def test_serve_refuses_a_graph_it_cannot_import_with_exit_status_2(
    tmp_path: Path,
    environ: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    graphs: dict[str, str],
    files: dict[str, str],
    expected: str,
) -> None:
    path = write(tmp_path, {"graphs": graphs}, files)
    with caplog.at_level(logging.ERROR):
        status = main(["serve", "--config", str(path), "--db", str(tmp_path / "t.sqlite")])
    assert status == 2
    (line,) = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert expected.format(dir=tmp_path) in line and "\n" not in line


@pytest.mark.slow
def test_the_real_command_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, {"graphs": {"mine": "./mine.py:graph"}}, {"mine.py": "1 / 0\n"})
    done = subprocess.run(
        [sys.executable, "-m", "threadloom.service.cli.commands", "serve", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "ERROR" in lines[0], lines
    assert "graph 'mine'" in lines[0] and "ZeroDivisionError: division by zero" in lines[0]
