"""The OpenAPI document is true: schemathesis sends generated requests to every operation of
the real server and checks each answer against the document (status code, content type,
schema), and that none is a server error.

Every operation the app has is tested, including routes added later: a route without a
documented answer fails here. Bounded: `EXAMPLES` generated cases per operation, derandomized
(the same cases every run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, CheckContext
from schemathesis.checks import CHECKS as CHECKS_REGISTRY
from schemathesis.checks import CheckFunction, load_all_checks

from tests.service.threaded_server import threaded_server
from threadloom.service.app import create_app
from threadloom.service.settings import Settings

EXAMPLES = 20
# What "true" means here: no server error (501, a documented "not implemented yet", aside), and
# every answer's status code, content type, headers and body as documented. (Schemathesis'
# positive/negative-data checks ask the document to encode every business rule, such as "a
# namespace is not empty"; they are not run.)
CHECKS = [
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = Path(tmp_path_factory.mktemp("openapi")) / "threadloom.sqlite"
    with threaded_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(server_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json")


def no_server_error(ctx: CheckContext, response: schemathesis.Response, case: Case) -> bool:
    if response.status_code >= 500 and response.status_code != 501:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:500]}")
    return True


def _checks() -> list[CheckFunction]:
    load_all_checks()
    chosen = [check for check in CHECKS_REGISTRY.get_all() if check.__name__ in CHECKS]
    return [no_server_error, *chosen]


def _operations() -> list[tuple[str, str]]:
    # Building the app (without starting it) gives the document the server will serve.
    document = create_app(Settings()).openapi()
    return [(method, path) for path, item in document["paths"].items() for method in item]


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda value: value)
def test_every_answer_matches_the_document(
    api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=_checks(), timeout=30)

    check()
