"""cmpapi: a self-hostable, wire-compatible Optimizely CMP Open API v3 server, SDK and CLI."""

__version__ = "0.1.0"
