"""The agent graph for `langgraph dev` / LangGraph Studio (see `langgraph.json`).

The LangGraph server brings its own checkpointer, so the graph is compiled without one. Settings
come from `THREADLOOM_*` variables and `.env`, as for `threadloom serve`.
"""

from threadloom.service.agent import compile_agent, make_agent_graph
from threadloom.service.settings import Settings

_settings = Settings()
graph = compile_agent(make_agent_graph(_settings), _settings)
