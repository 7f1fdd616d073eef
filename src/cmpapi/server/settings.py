"""The one typed Settings object. Built once in app.py (or by a test) and passed down.

Every field can be set from a ``CMPAPI_<FIELD>`` environment variable; nothing else in
the server reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes `cmpapi serve` runs on its port; above 1, its job worker "
        "runs in a process of its own beside them (docs/jobs.md#running-workers)",
    )

    # -- logs (docs/operations.md#logs) -------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text (uvicorn's look) or one JSON object each"
    )
    access_log: bool | None = Field(
        default=None,
        description="One log line per request (`serve --access-log`); default: on with "
        "log_format json, off with text",
    )

    access_token_ttl: int = Field(default=3600, ge=60, description="seconds")
    refresh_token_ttl: int = Field(default=60 * 60 * 24 * 30, ge=60, description="seconds")
    authorization_code_ttl: int = Field(default=60, ge=5, description="seconds")
    login_session_ttl: int = Field(default=60 * 60 * 8, ge=60, description="seconds")

    rate_limit: float = Field(
        default=0,
        ge=0,
        description="API requests per second per organization, per API process (0: off; "
        "the CMP enforces 10). docs/compat.md#rate-limiting",
    )

    # -- sign-in throttling (docs/compat.md#sign-in-throttling) --------------------------
    signin_throttle: bool = Field(
        default=True,
        description="Slow down, then lock out for a while, repeated wrong passwords (login "
        "page) and client secrets (token and revocation endpoints)",
    )
    signin_free_failures: int = Field(
        default=5, ge=1, description="Failures one address may make on one account before delays"
    )
    signin_address_free_failures: int = Field(
        default=20, ge=1, description="Failures from one address, all accounts, before delays"
    )
    signin_account_free_failures: int = Field(
        default=20,
        ge=1,
        description="Failures on one account from all addresses (each address counting for "
        "at most signin_free_failures) before delays for addresses it never signed in from",
    )
    signin_first_delay: float = Field(
        default=1, gt=0, description="Seconds of the first delay; it doubles with each failure"
    )
    signin_max_delay: float = Field(
        default=900, gt=0, description="Longest delay (the lockout), seconds"
    )
    signin_failure_window: int = Field(
        default=12 * 3600, ge=1, description="Seconds after its last failure a counter is reset"
    )
    signin_known_address_ttl: int = Field(
        default=30 * 86400,
        ge=0,
        description="Seconds an address an account signed in from stays exempt from that "
        "account's and that address's wide lockouts (0: no exemption)",
    )

    # -- request bounds (docs/compat.md#input-bounds) -------------------------------------
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body outside the upload endpoints (413 beyond it)",
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request head: all headers together (431), and the path with "
        "its query string (414)",
    )

    password_hash_memory_kib: int = Field(
        default=19 * 1024,
        ge=8,
        le=4 * 1024 * 1024,
        description="argon2id memory per password hash, KiB (OWASP's minimum by default; "
        "test suites turn it down: hashes made with other costs still verify)",
    )
    password_hash_time_cost: int = Field(
        default=2, ge=1, le=20, description="argon2id passes per password hash"
    )

    token_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long each process reuses what an access token resolved to (user, "
        "role, app): a revocation through the process applies at once, a change made "
        "elsewhere (another process, cmpapi users) within this time (0: read every time)",
    )

    otel: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry traces, metrics and logs through the providers "
        "the environment configures (off: ~5 % of a small request's CPU time went to "
        "asking for unconfigured providers on every request)",
    )

    check_responses: bool = Field(
        default=False,
        description="Validate every list answer against its wire model before sending it "
        "and check that the JSON sent is the model's (the tests turn it on; off, a page's "
        "items are not validated one by one: ~10 % of a small list request's CPU time)",
    )

    sql_echo: bool = False
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections per process")
    db_inline: bool | None = Field(
        default=None,
        description="Run database work on the event loop (true) or in one bounded worker "
        "thread per request (false). Default: SQLite on the loop (reads under "
        "db_read_budget_ms), PostgreSQL in threads",
    )
    db_read_budget_ms: float = Field(
        default=10.0,
        ge=0,
        le=60_000,
        description="SQLite, reads on the loop: a GET request's database work still running "
        "after this many milliseconds is interrupted and run again in a worker thread, so "
        "one long read does not hold every other request (0: never move reads)",
    )

    # -- background jobs (docs/jobs.md) -----------------------------------------------
    worker_embedded: bool = Field(
        default=True,
        description="Run a job worker inside `cmpapi serve` (off: run "
        "`cmpapi worker` processes instead)",
    )
    worker_concurrency: int = Field(
        default=8, ge=1, le=256, description="Jobs one worker process runs at once"
    )
    worker_lease_seconds: float = Field(
        default=60,
        gt=0,
        description="A claimed job is another worker's to take over once "
        "its lease lapses; running jobs renew theirs every third of it",
    )
    worker_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between queue polls when idle"
    )
    worker_retry_schedule: str = Field(
        default="5,30,120,600,1800",
        pattern=r"^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$",
        description="Comma-separated seconds before each retry (+-20 % jitter); the last "
        "repeats until a job's max_attempts",
    )
    worker_shutdown_timeout: float = Field(
        default=10, ge=0, description="Seconds a stopping worker waits for running jobs"
    )
    worker_processes: int | None = Field(
        default=None,
        ge=1,
        description="Process pool size for CPU-heavy job steps (default: the CPU count)",
    )
    worker_imports: str = Field(
        default="", description="Comma-separated modules with extra job handlers to import"
    )
    jobs_retention: int = Field(
        default=7 * 86400, ge=60, description="Seconds finished jobs are kept"
    )

    # -- webhook deliveries (docs/webhooks.md) ------------------------------------------
    webhook_timeout: float = Field(
        default=30, gt=0, description="Seconds a receiver has to answer one delivery"
    )
    webhook_retry_schedule: str = Field(
        default="30,60,300,900,1800,3600,7200,14400,21600,43200,43200,43200,43200,43200",
        pattern=r"^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$",
        description="Comma-separated seconds before retry 1, 2, ... (+-20 % jitter); one "
        "attempt plus one per entry (default: 15 attempts over ~74 h)",
    )
    webhook_retry_after_max: float = Field(
        default=3600, ge=0, description="Longest Retry-After (seconds) a receiver can ask for"
    )
    webhook_disable_after: float | None = Field(
        default=None,
        gt=0,
        description="Seconds of failures without a success after which a webhook is "
        "disabled (default: the retry schedule's whole span)",
    )
    webhook_concurrency_per_webhook: int = Field(
        default=4, ge=1, le=256, description="Requests in flight to one webhook, per worker"
    )
    webhook_max_in_flight: int = Field(
        default=200, ge=1, le=10000, description="Requests in flight per worker, all webhooks"
    )
    webhook_lease_seconds: float = Field(
        default=60,
        gt=0,
        description="A claimed delivery returns to the queue if its worker does not renew "
        "the claim for this long (a dead worker's deliveries are retried after it)",
    )
    webhook_poll_interval: float = Field(
        default=0.5, gt=0, description="Seconds between outbox/queue polls of a busy worker"
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow callback URLs on private, loopback and link-local addresses "
        "(cloud metadata addresses stay refused)",
    )
    webhook_allow_http_loopback: bool | None = Field(
        default=None,
        description="Allow callback URLs on loopback hosts (localhost, 127.0.0.0/8, ::1), "
        "plain http included (default: on in demo mode only)",
    )
    webhook_delivery_retention: int = Field(
        default=30 * 86400, ge=3600, description="Seconds finished deliveries are kept"
    )
    event_stream_max_per_org: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Open event streams (GET /ext/v1/events/stream) per organization, per "
        "API process; one more is refused with 429",
    )
    event_stream_heartbeat: float = Field(
        default=15, ge=0.05, le=300, description="Seconds between keep-alive comments"
    )
    event_stream_poll_interval: float = Field(
        default=1.0,
        ge=0.05,
        le=60,
        description="Seconds between the event streams' outbox polls (commits wake them "
        "sooner: in-process, by NOTIFY on PostgreSQL, by SQLite's data_version)",
    )

    # -- storage and uploads (docs/storage.md) ---------------------------------------
    storage_backend: Literal["local", "s3"] = Field(
        default="local", description="Where uploaded files live: a local directory or S3"
    )
    storage_dir: Path | None = Field(
        default=None, description="Local backend directory; default <data_dir>/objects"
    )
    storage_secret: SecretStr | None = Field(
        default=None,
        description="Key signing local upload/download URLs; default: generated once into "
        "<data_dir>/storage-secret (every process of a deployment must share it)",
    )
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint; AWS when unset"
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_session_token: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual"] = "path"
    upload_max_size: int = Field(
        default=5 * 1024**3, ge=1, description="Largest single (POST) upload, bytes"
    )
    upload_url_ttl: int = Field(default=3600, ge=60, le=604800, description="seconds")
    download_url_ttl: int = Field(default=3600, ge=60, le=604800, description="seconds")
    multipart_upload_ttl: int = Field(
        default=86400, ge=3600, le=604800, description="Lifetime of a multipart upload, seconds"
    )

    @property
    def request_log(self) -> bool:
        """Whether each request gets a log line."""
        return self.access_log if self.access_log is not None else self.log_format == "json"

    @property
    def resolved_storage_dir(self) -> Path:
        """The local backend's directory."""
        return self.storage_dir or self.data_dir / "objects"

    @property
    def webhook_http_loopback_allowed(self) -> bool:
        """Whether callback URLs on loopback hosts, plain http included, are accepted."""
        if self.webhook_allow_http_loopback is not None:
            return self.webhook_allow_http_loopback
        return self.demo

    @property
    def resolved_db_inline(self) -> bool:
        """Whether database work that may write runs inline on the event loop."""
        if self.db_inline is not None:
            return self.db_inline
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_db_read_budget_s(self) -> float | None:
        """How long an inline read may run before it moves to a thread (None: no limit)."""
        sqlite = self.resolved_database_url.startswith("sqlite")
        return self.db_read_budget_ms / 1000 if sqlite and self.db_read_budget_ms else None

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cmpapi.db').resolve()}"
