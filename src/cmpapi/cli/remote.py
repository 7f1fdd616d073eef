"""What the remote commands share: the ``--profile`` and ``--output`` options, a client
for the profile, paging, JSON and table output, and errors printed as one message plus
one line per field error, with the exit codes of docs/cli.md:

- 0: done; 1: the API or the operation failed (an error answer, no connection, a file);
- 2: usage (a bad option, argument, ``--data`` or config file);
- 3: not logged in, or the login no longer works (401, a refused token grant);
- 130: interrupted (Ctrl-C).

Remote commands reach the server only through ``cmpapi.client`` and never import
``cmpapi.server``; the SDK is imported inside the commands, so ``cmpapi --help`` stays
quick.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cmpapi.cli import profiles
from cmpapi.cli.output import OutputFormat, add_columns

if TYPE_CHECKING:
    from cmpapi.client import Client

EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_INTERRUPTED = 1, 2, 3, 130
DEFAULT_LIMIT = 20
MAX_PAGE_SIZE = 100

out = Console(soft_wrap=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


Output = OutputFormat  # the one set of --output formats, local and remote


ProfileOption = Annotated[
    str,
    typer.Option(
        "--profile",
        envvar="CMPAPI_PROFILE",
        help="Profile to use (config.toml in the config directory)",
        show_default=True,
    ),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="table (for people) or json (for programs)")
]
LimitOption = Annotated[
    int, typer.Option("--limit", min=1, help="Print at most this many items (see --all)")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every item, all pages")]


class NotLoggedIn(Exception):
    """The profile has no token: ``cmpapi login`` first."""


# CMPErrors of the token machinery (no subclass of their own) that mean "log in again".
_AUTH_MESSAGES = ("no token", "the token expired", "client credentials need")


def fail(message: str, code: int = EXIT_FAILED, details: Iterable[str] = ()) -> NoReturn:
    """Print ``error: message`` and the ``details`` (one per line) on stderr; exit."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    for line in details:
        err.print(f"  {escape(line)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def _field_lines(errors: Any, prefix: str = "") -> Iterator[str]:
    """``field: reason`` lines of a CMP ``errors`` object (nested objects flattened)."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                yield from _field_lines(value, path)
            else:
                yield f"{path}: {_reason(value)}"
    elif errors:
        yield f"{prefix or 'errors'}: {_reason(errors)}"


def _reason(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_reason(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


@contextmanager
def reporting(profile: str, *, hint: bool = True) -> Iterator[None]:
    """Turn every failure of the block into a message and an exit code (no traceback);
    sign-in failures say to run ``cmpapi login`` (unless ``hint`` is false: login's own)."""
    from pydantic import ValidationError

    from cmpapi.client import (
        APIConnectionError,
        APIError,
        AuthenticationError,
        CMPError,
        RequestValidationError,
    )
    from cmpapi.client import OAuthError as OAuthRefusal
    from cmpapi.client.loopback import LoopbackError

    login = f"run `cmpapi login --profile {profile}`"
    if not hint:
        login = "check the app's client id and secret"
    try:
        yield
    except NotLoggedIn:
        fail(f"not logged in (profile {profile}): {login}", EXIT_AUTH)
    except AuthenticationError as exc:
        fail(f"{exc.message} (HTTP {exc.status}): {login}", EXIT_AUTH)
    except OAuthRefusal as exc:
        fail(f"the token was refused: {exc}: {login}", EXIT_AUTH)
    except LoopbackError as exc:
        fail(f"no login: {exc}", EXIT_AUTH)
    except APIError as exc:
        fail(f"{exc.message} (HTTP {exc.status})", EXIT_FAILED, _field_lines(exc.errors))
    except APIConnectionError as exc:
        fail(str(exc), EXIT_FAILED)
    except RequestValidationError as exc:
        fail("invalid option value", EXIT_USAGE, _field_lines(exc.errors))
    except CMPError as exc:
        auth = type(exc) is CMPError and str(exc).startswith(_AUTH_MESSAGES)
        fail(f"{exc}: {login}" if auth else str(exc), EXIT_AUTH if auth else EXIT_FAILED)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()]
        fail("invalid option value", EXIT_USAGE, lines)
    except profiles.ProfileError as exc:
        fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)


def connect(profile: profiles.Profile, *, require_token: bool = True) -> Client:
    """A client for ``profile`` that keeps its tokens in the profile's token store.
    Without a stored token it raises :class:`NotLoggedIn` (unless told not to): the CLI
    never signs in on its own."""
    from cmpapi.client import Client

    store = profiles.token_store(profile.name)
    if require_token and store.load() is None:
        raise NotLoggedIn(profile.name)
    urls = profile.endpoints()
    return Client(
        client_id=profile.client_id,
        client_secret=profile.client_secret,
        scope=profile.scope,
        base_url=urls.base_url,
        authorization_url=urls.authorization_url,
        token_url=urls.token_url,
        userinfo_url=urls.userinfo_url,
        revocation_url=urls.revocation_url,
        token_store=store,
    )


@contextmanager
def session(profile_name: str) -> Iterator[Client]:
    """The profile's client for the block, failures reported (the usual command body)."""
    with reporting(profile_name):
        client = connect(profiles.load(profile_name))
        with client:
            yield client


# -- reading lists ---------------------------------------------------------------------------


def page_size(limit: int, every: bool) -> int:
    """The page size that fetches ``limit`` items (or all) in the fewest requests."""
    return MAX_PAGE_SIZE if every else max(1, min(limit, MAX_PAGE_SIZE))


def collect(items: Iterable[Any], limit: int, every: bool) -> list[Any]:
    """The first ``limit`` items (all with ``every``) of a pager, as JSON-ready values;
    pages are fetched only as far as needed."""
    taken: list[Any] = []
    for item in items:
        if not every and len(taken) >= limit:
            break
        taken.append(plain(item))
    return taken


def plain(value: Any) -> Any:
    """A model as the JSON the server sent (fields it left out stay out)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return value


# -- printing --------------------------------------------------------------------------------


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(plain(value), indent=2, ensure_ascii=False) + "\n")


def cell(value: Any) -> str:
    """A table cell: scalars as text, objects as compact JSON, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


Column = tuple[str, Callable[[dict[str, Any]], Any]]


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, ids: int = 1) -> None:
    """``rows`` as a table; the first ``ids`` columns (ids) are never cut or wrapped."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    cells = [[cell(get(row)) for _, get in columns] for row in rows]
    idents = [index < ids for index in range(len(columns))]
    add_columns(table, [header for header, _ in columns], idents, cells)
    for row_cells in cells:
        table.add_row(*(escape(c) for c in row_cells))
    out.print(table)


def print_record(record: dict[str, Any]) -> None:
    """One object as a two-column table: field, value."""
    table = Table(show_edge=False, pad_edge=False, show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(escape(str(key)), escape(cell(value)))
    out.print(table)


def show(value: Any, output: Output, columns: Sequence[Column] | None = None) -> None:
    """Print a list (with ``columns``) or one object, as ``output`` asks."""
    value = plain(value)
    if output is Output.json:
        print_json(value)
    elif isinstance(value, list):
        print_table(value, columns or [("id", lambda r: r.get("id"))])
    else:
        print_record(value)


def field(name: str) -> Callable[[dict[str, Any]], Any]:
    """A column getter for a top-level field."""
    return lambda row: row.get(name)
