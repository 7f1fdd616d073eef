"""Fuzzing the live server with schemathesis against the official CMP OpenAPI document."""
