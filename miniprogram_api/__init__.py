"""The mini-program's HTTP API (/api/v1/...): thin handlers over the services."""
