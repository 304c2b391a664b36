"""Search answers paged as the SDK's cursors expect: the items and `X-Pagination-*` headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from threadloom.service.http.json_codec import JsonResponse


class ApiRecord(Protocol):
    def to_api(self) -> dict[str, Any]: ...


def paged_response(
    found: Sequence[ApiRecord], *, offset: int, limit: int, select: Sequence[str] | None
) -> JsonResponse:
    """Answer with the first `limit` of `found`, which the caller searched with `limit + 1`:
    one more than asked tells whether there is a next page. `select` keeps only the fields it
    names."""
    items = [_selected(record.to_api(), select) for record in found[:limit]]
    headers = {"X-Pagination-Total": str(offset + len(items))}
    if len(found) > limit:
        headers = {
            "X-Pagination-Total": str(offset + limit + 1),
            "X-Pagination-Next": str(offset + limit),
        }
    return JsonResponse(items, headers=headers)


def _selected(answer: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    return {key: answer[key] for key in fields} if fields else answer
