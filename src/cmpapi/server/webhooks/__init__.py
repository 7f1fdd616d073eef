"""Webhook subscriptions and their delivery engine (docs/webhooks.md).

- ``tables``: webhooks, deliveries, attempts;
- ``service``: what the admin API, the CLI and the Settings API call;
- ``trigger``: events recorded in a transaction enqueue a delivery run (imported here, so
  every process that loads the tables also registers it);
- ``fanout``, ``queue``, ``engine``, ``sender``: turning events into HTTP requests;
- ``ssrf``, ``signing``: where requests may go and how receivers verify them.
"""

from cmpapi.server.webhooks import trigger as trigger

__all__ = ["trigger"]
