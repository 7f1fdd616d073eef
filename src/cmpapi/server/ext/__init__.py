"""cmpapi's own API under /ext/v1 (not part of the CMP): administration for admins."""
