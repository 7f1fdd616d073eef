# GENERATED from _async/__init__.py by scripts/gen_client.py: do not edit.
"""The synchronous SDK. ``cmpapi.client._sync`` is generated from this package by
``scripts/gen_client.py``: edit here, then regenerate."""
