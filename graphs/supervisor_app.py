"""The supervisor as a `langgraph.json` entry (`langgraph dev`, Studio, threadloom's server).

Built the way a user's graph would be: `chat_model()` gives the configured model (the bundled
one by default; `THREADLOOM_MODEL` or `THREADLOOM_ENDPOINT_URL` choose another), shared with every
other graph of the process that asks for it. Search is the offline corpus. Compiled without a
checkpointer: the server that loads this module supplies its own.
"""

from threadloom.graphs.supervisor import build_supervisor
from threadloom.models import chat_model
from threadloom.tools.calculator import calculator
from threadloom.tools.search import make_search_tool

graph = build_supervisor(chat_model(), calculator, make_search_tool()).compile(name="supervisor")
