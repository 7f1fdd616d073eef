"""Health checks, Prometheus metrics, request ids and the request log (docs/operations.md)."""
