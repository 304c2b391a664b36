"""Shared fixtures: the two storage backends, SQLite and a real PostgreSQL.

PostgreSQL tests get a database created for this test session (dropped at its end), and each
test a fresh schema in it, named in the URL's `search_path` so that every connection made from
the URL (the service's pool, a subprocess's) uses it. Without a server on 127.0.0.1:5432 they
are skipped, unless `CI=true`, where they fail.

Torch runs one thread in the suite (and in the servers it starts), unless the environment says
otherwise: on a shared 2-core machine, OpenMP threads waiting on each other made model tests ten
to twenty times slower, while the tokens computed are the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Before anything imports torch, which reads OMP_NUM_THREADS once.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("THREADLOOM_TORCH_THREADS", "1")

ADMIN_URL = os.environ.get(
    "THREADLOOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _url(database: str, schema: str | None = None) -> str:
    parts = conninfo_to_dict(ADMIN_URL)
    user = parts.get("user", "postgres")
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", "5432")
    url = f"postgresql://{quote(user)}@{host}:{port}/{database}"
    return f"{url}?options={quote(f'-csearch_path={schema}')}" if schema else url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The name of a database made for this test session."""
    try:
        admin = psycopg.connect(make_conninfo(ADMIN_URL, connect_timeout=3), autocommit=True)
    except psycopg.OperationalError as exc:
        reason = f"no PostgreSQL server answers at {ADMIN_URL} ({exc})".strip()
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it.")
        pytest.skip(f"{reason}; set THREADLOOM_TEST_POSTGRES_URL to use another server.")
    name = f"threadloom_test_{uuid4().hex[:12]}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield name
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def _fresh_schema(database: str) -> Iterator[str]:
    schema = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(_url(database), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _url(database, schema)
    finally:
        # A new connection: a test may have had the server drop every connection.
        with psycopg.connect(_url(database), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema, dropped after the test."""
    with _fresh_schema(postgres_database) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(postgres_database: str) -> Iterator[str]:
    """Like `postgres_url`, shared by the tests of a module (e.g. with its server processes)."""
    with _fresh_schema(postgres_database) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """`Settings` fields selecting each backend in turn: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return {"db": tmp_path / "threadloom.sqlite"}
    url = request.getfixturevalue("postgres_url")
    return {"db": tmp_path / "unused.sqlite", "database_url": url}
