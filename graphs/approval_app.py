"""The approval flow as a `langgraph.json` entry (`langgraph dev`, Studio, threadloom's server).

The agent with the calculator and the offline search, on the configured model (`chat_model()`),
where every tool call waits for a human: see `graphs.approval` for the resume payloads. Compiled
without a checkpointer: the server that loads this module supplies its own.
"""

from threadloom.graphs.approval import build_approval_graph
from threadloom.models import chat_model
from threadloom.tools.calculator import calculator
from threadloom.tools.search import make_search_tool

graph = build_approval_graph(chat_model(), [calculator, make_search_tool()]).compile(
    name="approval"
)
