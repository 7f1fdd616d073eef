"""Persistence: engine and sessions, the declarative Base, portable types, the repository."""
