"""The built-in agent, as the repository's `langgraph.json` names it ("agent"): the same entry is
served by `threadloom serve` and by `langgraph dev` / LangGraph Studio.

The server brings its own checkpointer and store, so the graph is compiled without them.
Settings come from `THREADLOOM_*` variables and `.env` (`threadloom serve` sets its flags as
those variables first).
"""

from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.settings import Settings

graph = agent_graph(Settings())
