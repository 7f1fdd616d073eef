"""The cmpapi SDK: a typed Python client for any CMP Open API v3 server (the real CMP by
default, a cmpapi server by one setting). It never imports ``cmpapi.server``.

::

    from cmpapi.client import Client

    with Client(server="http://127.0.0.1:8080", client_id=..., client_secret=...) as cmp:
        for asset in cmp.library.list_assets(type=["image"]):
            print(asset.id, asset.title)

``AsyncClient`` is the same client for asyncio (``async for``, ``await``).
"""

from cmpapi.client._async._client import AsyncClient
from cmpapi.client._async._paging import AsyncPage, AsyncPager
from cmpapi.client._async._uploads import AsyncUploads
from cmpapi.client._operation_support import Redirect
from cmpapi.client._sync._client import Client
from cmpapi.client._sync._paging import Page, Pager
from cmpapi.client._sync._uploads import Uploads
from cmpapi.client.auth import (
    AuthorizationRequest,
    FileTokenStore,
    MemoryTokenStore,
    Token,
    TokenStore,
)
from cmpapi.client.config import Endpoints
from cmpapi.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    CMPError,
    ConflictError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    UnexpectedResponseError,
    UnprocessableEntityError,
)
from cmpapi.client.events import (
    EVENT_NAMES,
    EVENT_TYPES,
    BaseEvent,
    Event,
    KnownEvent,
    PingEvent,
    UnknownEvent,
)
from cmpapi.client.uploads import (
    MultipartState,
    ResumeStore,
    StorageError,
    UploadError,
    UploadJournal,
    UploadProgress,
)
from cmpapi.client.webhooks import (
    WebhookApp,
    WebhookPayloadError,
    WebhookVerificationError,
    parse_event,
    verify,
    webhook_app,
)

__all__ = [
    "EVENT_NAMES",
    "EVENT_TYPES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPage",
    "AsyncPager",
    "AsyncUploads",
    "AuthenticationError",
    "AuthorizationRequest",
    "BadRequestError",
    "BaseEvent",
    "CMPError",
    "Client",
    "ClientError",
    "ConflictError",
    "Endpoints",
    "Event",
    "FileTokenStore",
    "KnownEvent",
    "MemoryTokenStore",
    "MultipartState",
    "NotFoundError",
    "OAuthError",
    "Page",
    "Pager",
    "PermissionDeniedError",
    "PingEvent",
    "RateLimitError",
    "Redirect",
    "RequestValidationError",
    "ResumeStore",
    "ServerError",
    "StorageError",
    "Token",
    "TokenStore",
    "UnexpectedResponseError",
    "UnknownEvent",
    "UnprocessableEntityError",
    "UploadError",
    "UploadJournal",
    "UploadProgress",
    "Uploads",
    "WebhookApp",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "parse_event",
    "verify",
    "webhook_app",
]
