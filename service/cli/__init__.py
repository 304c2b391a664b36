"""The `threadloom` command: `serve` and the terminal `chat`."""
