"""The one typed Settings object. Built once in app.py (or by a test) and passed down.

Every field can be set from a ``CMPAPI_<FIELD>`` environment variable; nothing else in
the server reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server configuration (``CMPAPI_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="CMPAPI_", extra="forbid", frozen=True)

    data_dir: Path = Field(default=Path("./cmpapi-data"), description="Database, files, keys")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/cmpapi.db. PostgreSQL: "
        "postgresql+psycopg://user@host/db",
    )
    public_base_url: str | None = Field(
        default=None,
        description="Absolute base URL used in links (e.g. https://cmp.example.com); "
        "the request's own base URL when unset",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = False

    access_token_ttl: int = Field(default=3600, ge=60, description="seconds")
    refresh_token_ttl: int = Field(default=60 * 60 * 24 * 30, ge=60, description="seconds")
    authorization_code_ttl: int = Field(default=60, ge=5, description="seconds")
    login_session_ttl: int = Field(default=60 * 60 * 8, ge=60, description="seconds")

    sql_echo: bool = False
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections per process")
    db_inline: bool | None = Field(
        default=None,
        description="Run database work on the event loop (default: yes for SQLite, no for "
        "PostgreSQL, which uses one bounded worker thread per request)",
    )

    @property
    def resolved_db_inline(self) -> bool:
        """Whether database work runs inline on the event loop."""
        if self.db_inline is not None:
            return self.db_inline
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cmpapi.db').resolve()}"
