"""The HTTP edge: server limits, dependencies, JSON codec and guard, CORS, the one SSE builder,
OpenAPI. Nothing here knows what a run is."""
