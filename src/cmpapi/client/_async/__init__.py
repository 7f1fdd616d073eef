"""The asynchronous SDK. ``cmpapi.client._sync`` is generated from this package by
``scripts/gen_client.py``: edit here, then regenerate."""
