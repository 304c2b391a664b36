"""Request headers copied into a run's `config.configurable` (`http.configurable_headers`).

As in LangGraph Server: a header is copied, under its lower-case name, when it matches an
`include` pattern and no `exclude` pattern (`includes` / `excludes` are accepted too); a pattern
is a lower-case name where `*` matches anything. Credentials (`authorization`, `x-api-key`, ...)
are never copied. Without the setting, no header is.

Example:
    >>> headers = HeaderFilter.from_settings(Settings(configurable_headers={"include": ["x-*"]}))
    >>> headers.pick({"x-user-id": "42", "cookie": "..."})
    {'x-user-id': '42'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from threadloom.service.settings import Settings

NEVER_COPIED = frozenset({"authorization", "x-api-key", "x-service-key", "x-tenant-id"})


class HeaderFilter:
    """Which request headers reach the run."""

    def __init__(self, include: list[str], exclude: list[str]) -> None:
        self._include = [_pattern(item) for item in include]
        self._exclude = [_pattern(item) for item in exclude]

    @classmethod
    def from_settings(cls, settings: Settings) -> HeaderFilter:
        given = settings.configurable_headers or {}
        return cls(
            list(given.get("include") or given.get("includes") or []),
            list(given.get("exclude") or given.get("excludes") or []),
        )

    def pick(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers to copy, by lower-case name."""
        if not self._include:
            return {}
        picked = {}
        for name, value in headers.items():
            name = name.lower()
            if name in NEVER_COPIED or any(p.fullmatch(name) for p in self._exclude):
                continue
            if any(pattern.fullmatch(name) for pattern in self._include):
                picked[name] = value
        return picked


def _pattern(text: str) -> re.Pattern[str]:
    # Only `*` is special: anything else is literal, so no pattern can be costly to match.
    return re.compile(".*".join(re.escape(part) for part in text.lower().split("*")))
