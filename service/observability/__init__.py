"""What operators see of a running server: Prometheus metrics (`GET /metrics`), and log lines
that carry the ids of the run they belong to."""
