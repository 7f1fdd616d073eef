"""Calendar events (tag "Events"): dated entries of the marketing calendar, optionally in a
campaign. Named ``calendar_events`` to stay apart from ``cmpapi.server.events`` (webhook
events)."""
