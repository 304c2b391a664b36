"""Threads beyond one run: their state as JSON, following them, the thread-centric protocol, TTL
sweeping."""
