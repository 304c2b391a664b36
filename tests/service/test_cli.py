"""`threadloom serve` flags override the `THREADLOOM_*` environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadloom.service.cli import parse_settings


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
