"""What the storage layer's drivers raise when the database is away, named once, so the
layers above can retry narrowly without importing a driver themselves."""

from __future__ import annotations

import sqlite3

import psycopg

# The connection is away (a restart, a network cut, a locked or unreachable file): worth
# trying again once it is back. Bad SQL or a constraint violation is not.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    OSError,
)
