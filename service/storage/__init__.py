"""The service's storage: threads, runs (with their leases) and run event logs, next to LangGraph's
checkpoints, in one SQLite file or one PostgreSQL database. Start at `backends.open_storage`."""
