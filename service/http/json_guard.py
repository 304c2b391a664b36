"""`json_body_problem`: what makes a JSON request body unsafe to hand to the routes, if anything.

It runs on every JSON body before any route parses it (see `service.http.limits`), because what it
refuses would otherwise fail deep inside: values nested deeper than the storage encoder (and the
recursive code between) can handle, lone UTF-16 surrogates and NUL characters (not encodable as
UTF-8, refused by PostgreSQL), integers past 64 bits and numbers past the float range (not
encodable as JSON numbers), NaN and Infinity (not JSON at all).
"""

from __future__ import annotations

import json
import math
from typing import Any

_INT64 = 2**63
# Past this many digits an integer is surely out of range: refuse before converting it.
_INT64_DIGITS = 19


class UnsafeJson(ValueError):
    """The body parses, but holds something the server cannot store or send back."""


def json_body_problem(body: bytes, max_depth: int) -> str | None:
    """Why the JSON `body` is refused (one sentence naming the bound), or None when it is fine
    or is not JSON at all (the route's own parsing answers that)."""
    try:
        value = json.loads(
            body, parse_int=_int, parse_float=_float, parse_constant=_refuse_constant
        )
    except UnsafeJson as exc:
        return str(exc)
    except RecursionError:
        return f"The request body nests JSON deeper than {max_depth} levels."
    except ValueError:  # not JSON (or not UTF-8): the route says so in its own words
        return None
    return _walk(value, max_depth)


def _walk(value: Any, max_depth: int) -> str | None:
    """The first problem among the strings and the nesting of `value`, without recursion."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem:
                return problem
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            return (
                f"The request body nests JSON deeper than {max_depth} levels "
                "(THREADLOOM_MAX_JSON_DEPTH)."
            )
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        else:
            pending.extend((child, depth + 1) for child in item)
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Strings in the request body may not contain NUL (\\u0000)."
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "Strings in the request body may not contain lone UTF-16 surrogates."
    return None


def _int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > _INT64_DIGITS or not -_INT64 <= int(text) < _INT64:
        raise UnsafeJson(
            f"The integer {text[:40]}{'...' if len(text) > 40 else ''} is out of range: "
            f"integers must lie from -2^63 to 2^63-1."
        )
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJson(f"The number {text[:40]} is out of the range of a double (about 1.8e308).")
    return value


def _refuse_constant(name: str) -> float:
    raise UnsafeJson(f"{name} is not a JSON number.")
