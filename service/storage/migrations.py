"""The schema of the service's own tables, as numbered migrations for each database.

A database at version N has had the first N migrations applied; start-up applies the rest, in
order, each in its own transaction (see `SqliteDatabase.migrate`, `PostgresDatabase.migrate`).
To change the schema, append a `Migration` (never edit a released one):

    MIGRATIONS.append(Migration(
        "crons",
        sqlite="CREATE TABLE crons (cron_id TEXT PRIMARY KEY, ...);",
        postgres="CREATE TABLE crons (cron_id TEXT PRIMARY KEY, ...);",
    ))

Types differ by dialect: timestamps are ISO text in SQLite and TIMESTAMPTZ in Postgres, JSON is
text / JSONB, booleans INTEGER / BOOLEAN, bytes BLOB / BYTEA.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sqlite: str
    postgres: str


_RUN_STATUSES = "('pending', 'running', 'error', 'success', 'timeout', 'interrupted')"


def _owners_and_assistants(json: str, time: str) -> str:
    """Migration 3 in either dialect. Servers before it created the assistant tables at start-up,
    hence `IF NOT EXISTS`: a database that has them keeps them, and gains the owner column."""
    return f"""
        ALTER TABLE threads ADD COLUMN owned_by TEXT;
        CREATE INDEX threads_owned_by_created_at ON threads (owned_by, created_at);
        ALTER TABLE runs ADD COLUMN owned_by TEXT;
        CREATE TABLE IF NOT EXISTS assistants (
            assistant_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            graph_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            config {json} NOT NULL,
            context {json} NOT NULL,
            metadata {json} NOT NULL,
            created_at {time} NOT NULL,
            updated_at {time} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS assistants_created_at ON assistants (created_at);
        CREATE TABLE IF NOT EXISTS assistant_versions (
            assistant_id TEXT NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            graph_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            config {json} NOT NULL,
            context {json} NOT NULL,
            metadata {json} NOT NULL,
            created_at {time} NOT NULL,
            PRIMARY KEY (assistant_id, version)
        );
        ALTER TABLE assistants ADD COLUMN owned_by TEXT;
        """


def _store_items(json: str, time: str, number: str) -> str:
    """Migration 4 in either dialect. `owned_by` is '' for items put with auth off: it is part
    of the key, which allows no NULL."""
    return f"""
        CREATE TABLE store_items (
            owned_by TEXT NOT NULL DEFAULT '',
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value {json} NOT NULL,
            created_at {time} NOT NULL,
            updated_at {time} NOT NULL,
            ttl_minutes {number},
            expires_at {time},
            PRIMARY KEY (owned_by, namespace, key)
        );
        CREATE INDEX store_items_expires_at ON store_items (expires_at)
            WHERE expires_at IS NOT NULL;
        """


def _crons(json: str, time: str, boolean: str) -> str:
    """The crons migration in either dialect. `next_run_date` is NULL once a schedule can never
    fire again; the scheduler looks crons up by it."""
    return f"""
        CREATE TABLE crons (
            cron_id TEXT PRIMARY KEY,
            assistant_id TEXT NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
            thread_id TEXT REFERENCES threads (thread_id) ON DELETE CASCADE,
            owned_by TEXT,
            schedule TEXT NOT NULL,
            timezone TEXT,
            end_time {time},
            next_run_date {time},
            payload {json} NOT NULL,
            metadata {json} NOT NULL,
            on_run_completed TEXT CHECK (on_run_completed IN ('delete', 'keep')),
            enabled {boolean} NOT NULL,
            created_at {time} NOT NULL,
            updated_at {time} NOT NULL
        );
        CREATE INDEX crons_next_run_date ON crons (next_run_date);
        CREATE INDEX crons_owned_by_created_at ON crons (owned_by, created_at);
        CREATE INDEX crons_thread_id ON crons (thread_id);
        CREATE INDEX crons_assistant_id ON crons (assistant_id);
        """


def _thread_ttls(number: str) -> str:
    """The thread TTL migration in either dialect. `expires_at` is in seconds since the epoch,
    so that both dialects compute `now + ttl_minutes * 60` in SQL alike; a sweeper claims an
    expired thread by moving it (see `service.storage.thread_ttls`)."""
    return f"""
        CREATE TABLE thread_ttls (
            thread_id TEXT PRIMARY KEY REFERENCES threads (thread_id) ON DELETE CASCADE,
            strategy TEXT NOT NULL CHECK (strategy IN ('delete', 'keep_latest')),
            ttl_minutes {number} NOT NULL,
            expires_at {number} NOT NULL
        );
        CREATE INDEX thread_ttls_expires_at ON thread_ttls (expires_at);
        """


def _store_vectors(blob: str) -> str:
    """The store's embeddings in either dialect: one unit-length float32 vector per indexed
    field of an item (see `service.storage.store_index`)."""
    return f"""
        CREATE TABLE store_vectors (
            owned_by TEXT NOT NULL,
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            field TEXT NOT NULL,
            embedding {blob} NOT NULL,
            PRIMARY KEY (owned_by, namespace, key, field),
            FOREIGN KEY (owned_by, namespace, key)
                REFERENCES store_items (owned_by, namespace, key) ON DELETE CASCADE
        );
        """


MIGRATIONS: list[Migration] = [
    Migration(
        "threads and runs",
        sqlite=f"""
        CREATE TABLE threads (
            thread_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            state_updated_at TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{{}}',
            status TEXT NOT NULL DEFAULT 'idle'
                CHECK (status IN ('idle', 'busy', 'interrupted', 'error')),
            state_values TEXT,
            interrupts TEXT NOT NULL DEFAULT '{{}}',
            error TEXT
        );
        CREATE INDEX threads_created_at ON threads (created_at);
        CREATE INDEX threads_status ON threads (status);
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
            assistant_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN {_RUN_STATUSES}),
            metadata TEXT NOT NULL DEFAULT '{{}}',
            kwargs TEXT NOT NULL DEFAULT '{{}}',
            multitask_strategy TEXT NOT NULL
        );
        CREATE INDEX runs_thread_created_at ON runs (thread_id, created_at);
        CREATE INDEX runs_status ON runs (status);
        """,
        postgres=f"""
        CREATE TABLE threads (
            thread_id TEXT PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            state_updated_at TIMESTAMPTZ NOT NULL,
            metadata JSONB NOT NULL DEFAULT '{{}}',
            status TEXT NOT NULL DEFAULT 'idle'
                CHECK (status IN ('idle', 'busy', 'interrupted', 'error')),
            state_values JSONB,
            interrupts JSONB NOT NULL DEFAULT '{{}}',
            error JSONB
        );
        CREATE INDEX threads_created_at ON threads (created_at);
        CREATE INDEX threads_status ON threads (status);
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
            assistant_id TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            status TEXT NOT NULL CHECK (status IN {_RUN_STATUSES}),
            metadata JSONB NOT NULL DEFAULT '{{}}',
            kwargs JSONB NOT NULL DEFAULT '{{}}',
            multitask_strategy TEXT NOT NULL
        );
        CREATE INDEX runs_thread_created_at ON runs (thread_id, created_at);
        CREATE INDEX runs_status ON runs (status);
        """,
    ),
    Migration(
        # The run row is the thread's lease: its owner renews `lease_expires_at` while it runs
        # or queues the run, and the unique index lets one run per thread be running at a time.
        "run leases, cancel requests and the run event log",
        sqlite="""
        UPDATE runs SET status = 'interrupted' WHERE status IN ('pending', 'running');
        ALTER TABLE runs ADD COLUMN owner TEXT;
        ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;
        ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN log_closed INTEGER NOT NULL DEFAULT 0;
        UPDATE runs SET log_closed = 1;
        CREATE UNIQUE INDEX runs_one_running_per_thread ON runs (thread_id)
            WHERE status = 'running';
        CREATE INDEX runs_unfinished ON runs (lease_expires_at)
            WHERE status IN ('pending', 'running');
        CREATE TABLE run_events (
            run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run_id, seq)
        );
        """,
        postgres="""
        ALTER TABLE runs ADD COLUMN owner TEXT;
        ALTER TABLE runs ADD COLUMN lease_expires_at TIMESTAMPTZ;
        ALTER TABLE runs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false;
        ALTER TABLE runs ADD COLUMN log_closed BOOLEAN NOT NULL DEFAULT false;
        CREATE UNIQUE INDEX runs_one_running_per_thread ON runs (thread_id)
            WHERE status = 'running';
        CREATE INDEX runs_unfinished ON runs (lease_expires_at)
            WHERE status IN ('pending', 'running');
        CREATE TABLE run_events (
            run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (run_id, seq)
        );
        """,
    ),
    Migration(
        # Who may see what (see `service.storage.owners`): the owner of each thread, run and
        # assistant; NULL for rows made with auth off, and for the system assistants.
        "owners, and the assistant tables",
        sqlite=_owners_and_assistants(json="TEXT", time="TEXT"),
        postgres=_owners_and_assistants(json="JSONB", time="TIMESTAMPTZ"),
    ),
    Migration(
        # The Store API's items (see `service.storage.store_items`).
        "store items",
        sqlite=_store_items(json="TEXT", time="TEXT", number="REAL"),
        postgres=_store_items(json="JSONB", time="TIMESTAMPTZ", number="DOUBLE PRECISION"),
    ),
    Migration(
        # Scheduled runs (see `service.storage.crons`); a cron goes with its thread or assistant.
        "crons",
        sqlite=_crons(json="TEXT", time="TEXT", boolean="INTEGER"),
        postgres=_crons(json="JSONB", time="TIMESTAMPTZ", boolean="BOOLEAN"),
    ),
    Migration(
        # Thread time-to-live (`ttl` on threads, `checkpointer.ttl` in langgraph.json).
        "thread ttls",
        sqlite=_thread_ttls(number="REAL"),
        postgres=_thread_ttls(number="DOUBLE PRECISION"),
    ),
    Migration(
        # Embeddings for semantic search in the store (`store.index` in langgraph.json).
        "store vectors",
        sqlite=_store_vectors(blob="BLOB"),
        postgres=_store_vectors(blob="BYTEA"),
    ),
]
