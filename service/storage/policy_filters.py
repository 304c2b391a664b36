"""The filters an auth policy's handlers return (`service.auth.policy`), as SQL on a JSON column.

A filter is LangGraph's `Auth.types.FilterType`: `{"key": value}` or `{"key": {"$eq": value}}`
(the metadata's `key` equals `value`; an object without operators is a value too),
`{"key": {"$contains": item}}` (its `key` is a list holding `item`; a list of items: holding
each), and `{"$or": [f, ...]}` / `{"$and": [f, ...]}` of at least two filters; keys side by
side all hold. Operators nest at most two deep, as LangGraph Server allows. Anything else is
refused (LangGraph Server would let an unknown operator match every row). A filter is also what
a new row's metadata is stamped with: its plain and `$eq` keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadloom.service.errors import ServiceError
from threadloom.service.storage.database import Dialect

Filter = Mapping[str, Any]
MAX_NESTING = 2
# The metadata of the graphs' system assistants, which every user may see and run.
SYSTEM_ROWS: Filter = {"created_by": "system"}


class PolicyError(ServiceError):
    """The auth policy returned something LangGraph does not define (a filter with an unknown
    operator, a user without identity): a bug in the policy, answered 500 saying what is wrong,
    and no row is touched."""


def filter_condition(dialect: Dialect, filters: Filter, metadata: str) -> tuple[str, list[Any]]:
    """A SQL condition, and its parameters, that holds where the JSON `metadata` (a column or
    a subquery) matches `filters`."""
    return _condition(dialect, filters, metadata, 0)


def stamped(metadata: Mapping[str, Any], filters: Filter | None) -> dict[str, Any]:
    """`metadata` with the equalities of `filters` set in it, so that the new row matches the
    filter that created it (operators other than `$eq` are left to the policy's handler)."""
    stamp = dict(metadata)
    for key, wanted in (filters or {}).items():
        if key.startswith("$"):
            continue
        if _is_value(wanted):
            stamp[key] = wanted
        elif set(wanted) == {"$eq"}:
            stamp[key] = wanted["$eq"]
    return stamp


def _condition(
    dialect: Dialect, filters: Filter, metadata: str, depth: int
) -> tuple[str, list[Any]]:
    if depth > MAX_NESTING:
        raise PolicyError(
            f"The auth policy returned a filter nested deeper than {MAX_NESTING} operators; "
            "simplify the filter its handler returns."
        )
    if not isinstance(filters, Mapping):
        raise PolicyError(f"The auth policy returned a filter that is not a mapping: {filters!r}.")
    clauses: list[str] = []
    params: list[Any] = []
    for key, wanted in filters.items():
        if key in ("$or", "$and"):
            sql, args = _group(dialect, key, wanted, metadata, depth)
        elif key.startswith("$"):
            raise PolicyError(
                f"The auth policy returned a filter with operator {key!r}; at the top of a "
                "filter only '$or' and '$and' are defined."
            )
        else:
            sql, args = _key_condition(dialect, key, wanted, metadata)
        clauses.append(sql)
        params.extend(args)
    if not clauses:
        return "1 = 1", []
    return "(" + " AND ".join(clauses) + ")", params


def _group(
    dialect: Dialect, operator: str, groups: Any, metadata: str, depth: int
) -> tuple[str, list[Any]]:
    if not isinstance(groups, list) or len(groups) < 2:
        raise PolicyError(
            f"The auth policy returned a filter whose {operator!r} is not a list of at least "
            "two filters."
        )
    parts = [_condition(dialect, group, metadata, depth + 1) for group in groups]
    joiner = " OR " if operator == "$or" else " AND "
    return (
        "(" + joiner.join(sql for sql, _ in parts) + ")",
        [arg for _, args in parts for arg in args],
    )


def _key_condition(dialect: Dialect, key: str, wanted: Any, metadata: str) -> tuple[str, list[Any]]:
    if _is_value(wanted):
        return dialect.json_field_equals(metadata), [dialect.json_key(key), dialect.json(wanted)]
    if len(wanted) != 1 or next(iter(wanted)) not in ("$eq", "$contains"):
        raise PolicyError(
            f"The auth policy returned a filter on {key!r} with {dict(wanted)!r}; a key's "
            "operator is one of '$eq' and '$contains'."
        )
    operator, operand = next(iter(wanted.items()))
    if operator == "$eq":
        return dialect.json_field_equals(metadata), [dialect.json_key(key), dialect.json(operand)]
    items = operand if isinstance(operand, list) else [operand]
    clauses = [dialect.json_array_contains(metadata) for _ in items]
    params: list[Any] = []
    for item in items:
        params += [dialect.json_key(key), dialect.json([item])]
    return "(" + " AND ".join(clauses or ["1 = 1"]) + ")", params


def _is_value(wanted: Any) -> bool:
    """Whether a key's filter is the value it must equal: anything but an object of operators."""
    return not isinstance(wanted, Mapping) or not any(str(name).startswith("$") for name in wanted)
