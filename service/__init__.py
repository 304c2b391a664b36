"""The HTTP service: the LangGraph Server API over FastAPI, with SSE streaming."""
