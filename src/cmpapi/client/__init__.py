"""The cmpapi SDK: a typed Python client for any CMP Open API v3 server (the real CMP by
default, a cmpapi server by one setting). It never imports ``cmpapi.server``.
"""
