"""What is served: the deployment file (langgraph.json), its graphs, store index, custom app and
the built-in agent."""
