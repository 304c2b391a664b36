"""Protocol fronts: other wires (MCP, ...) onto the same assistants and runs as the API."""
