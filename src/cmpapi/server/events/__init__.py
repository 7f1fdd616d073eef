"""The event outbox: services record webhook events in their own transaction."""
