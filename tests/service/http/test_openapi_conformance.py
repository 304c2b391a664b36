"""The OpenAPI document is true: schemathesis sends generated requests to every operation of
the real server and checks each answer against the document (status code, content type,
schema), and that none is a server error.

Every operation the app has is tested, including routes added later: a route without a
documented answer fails here. Bounded: `EXAMPLES` generated cases per operation under each of
`SEEDS` (the same cases every run, and different ones per seed: a document true for one seed's
cases was not for another's). The stateful phase then chains calls along the links schemathesis
infers (create a thread, run on it, join the run, read its state, delete it, ...), a bounded
number of short sequences. GET streams end after `STREAM_CAP_S` (`join_stream_max_s`), so
that every generated request ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, CheckContext, GenerationMode
from schemathesis.checks import CHECKS as CHECKS_REGISTRY
from schemathesis.checks import CheckFunction, load_all_checks

from tests.service.threaded_server import threaded_server
from threadloom.service.app import create_app
from threadloom.service.settings import Settings

SEEDS = (101, 202, 303)
EXAMPLES = 4
SEQUENCES = 25
STEPS = 6
STREAM_CAP_S = 1.0
# What "true" means here: no server error (501, a documented "not implemented yet", aside),
# every answer's status code, content type, headers and body as documented, and invalid data
# (each operation is also sent cases that break its schema) refused with a 4xx: every check of
# `--checks all` but one, excluded with its reason:
# - positive_data_acceptance (valid data must get 2xx/404/409) asks the document to encode every
#   business rule: an `assistant_id` that is a string but names no graph nor assistant, a
#   schedule that is a string but no cron expression, are rightly 422 though "schema-valid".
# (`unsupported_method` and `missing_required_header` find nothing to send in these phases; the
# CLI's coverage phase would exercise them.)
CHECKS = [
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
]
# Operations not yet sent invalid data: their non-UTF-8 bodies answer 500 until the fronts'
# error fix (issue 18, "the 500s") lands; remove each once it answers a 4xx.
NEGATIVE_PENDING: frozenset[str] = frozenset()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = Path(tmp_path_factory.mktemp("openapi")) / "threadloom.sqlite"
    with threaded_server(db, join_stream_max_s=STREAM_CAP_S) as url:
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
    checks = _checks()
    # Invalid cases are sent where a body can be invalid: a path or query string of an
    # operation without one can rarely be (any text is a string), and hypothesis would search
    # at length for one before giving up.
    with_body = "requestBody" in operation.definition.raw
    for chosen, mode in product(SEEDS, GenerationMode):

        @seed(chosen)
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=checks, timeout=30)

        if mode is GenerationMode.NEGATIVE and (path in NEGATIVE_PENDING or not with_body):
            continue
        try:
            check()
        except Unsatisfiable:  # a body with nothing required and nothing bounded
            assert mode is GenerationMode.NEGATIVE


def test_sequences_of_calls_match_the_document(api_schema: schemathesis.BaseSchema) -> None:
    checks = _checks()

    class Sequences(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"timeout": 30}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: Case,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    Sequences.run(
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
