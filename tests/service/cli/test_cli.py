"""`threadloom serve`: flags override the `THREADLOOM_*` environment; the server it runs."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from threadloom.service.cli.commands import GC_THRESHOLDS, DrainingServer, parse_settings


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLOOM_PORT", "9000")
    monkeypatch.setenv("THREADLOOM_MODEL", "from-env")

    settings = parse_settings(["serve", "--port", "0", "--db", "x/t.sqlite", "--host", "0.0.0.0"])

    assert settings.port == 0
    assert settings.db == Path("x/t.sqlite")
    assert settings.host == "0.0.0.0"
    assert settings.model == "from-env"  # no --model: the environment's value stays


def test_invalid_flag_value_exits_with_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(["serve", "--port", "70000"])

    assert exited.value.code == 2
    assert "port" in capsys.readouterr().err


def test_a_command_is_required() -> None:
    with pytest.raises(SystemExit):
        parse_settings([])


async def test_the_server_freezes_what_start_up_built_and_collects_less_often() -> None:
    app = FastAPI()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    config.load()
    server = DrainingServer(config, app)
    server.lifespan = config.lifespan_class(config)  # as `serve` sets it up before `startup`
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        await server.startup()
        frozen, started_with = gc.get_freeze_count(), gc.get_threshold()
        await server.shutdown()
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
        gc.set_threshold(*thresholds)

    assert frozen > 0
    assert started_with == GC_THRESHOLDS
