"""Token-endpoint grants, one module per grant type (RFC 6749 §4.1, §4.4, §6)."""
