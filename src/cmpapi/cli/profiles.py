"""The remote commands' profiles: named connections to a CMP (the real one, or a cmpapi
server), kept in ``config.toml`` in the config directory, with their tokens beside it in
``tokens.json`` (a :class:`~cmpapi.client.auth.FileTokenStore`, mode 0600).

The directory is ``$CMPAPI_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/cmpapi``, else
``~/.config/cmpapi``. ``cmpapi login`` writes the profile; the file may also be edited::

    [profiles.default]
    server = "http://127.0.0.1:8080"     # a cmpapi server's root; absent: the real CMP
    client_id = "cmpapi-demo-app"
    client_secret = "..."                # confidential apps and client credentials only
    grant = "client_credentials"         # or "authorization_code" (browser login)

Optional keys: ``scope``, ``redirect_uri`` (browser login), and the URLs one by one
(``base_url``, ``authorization_url``, ``token_url``, ``userinfo_url``, ``revocation_url``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmpapi.client import Endpoints, FileTokenStore

DEFAULT_PROFILE = "default"
PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
GRANTS = ("authorization_code", "client_credentials")


class ProfileError(Exception):
    """The config file or a profile name is unusable (a usage error)."""


def config_dir() -> Path:
    """Where profiles and tokens live."""
    if explicit := os.environ.get("CMPAPI_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cmpapi"


def cache_dir() -> Path:
    """Where resumable uploads keep their journals: ``$CMPAPI_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/cmpapi``, else ``~/.cache/cmpapi``."""
    if explicit := os.environ.get("CMPAPI_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cmpapi"


@dataclass(frozen=True)
class Profile:
    """One named connection: where, as which app, and how it signs in."""

    name: str
    server: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    grant: str | None = None
    redirect_uri: str | None = None
    base_url: str | None = None
    authorization_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    revocation_url: str | None = None

    def settings(self) -> dict[str, str]:
        """The keys written to the file (every one set but the name)."""
        return {
            f.name: value
            for f in fields(self)
            if f.name != "name" and isinstance(value := getattr(self, f.name), str)
        }

    def updated(self, **values: str | None) -> Profile:
        """This profile with the values given (not None) replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def endpoints(self) -> Endpoints:
        """The URLs this profile talks to."""
        from cmpapi.client import Endpoints

        base = Endpoints.for_server(self.server) if self.server else Endpoints()
        return base.with_overrides(
            base_url=self.base_url,
            authorization_url=self.authorization_url,
            token_url=self.token_url,
            userinfo_url=self.userinfo_url,
            revocation_url=self.revocation_url,
        )

    @property
    def where(self) -> str:
        """The server, as a person reads it."""
        return self.server or self.endpoints().base_url


def check_name(name: str) -> str:
    """``name`` if it can name a profile (letters, digits, ``-`` and ``_``)."""
    if not PROFILE_NAME.fullmatch(name):
        raise ProfileError(f"profile names are letters, digits, - and _ (not {name!r})")
    return name


def config_path() -> Path:
    """The profiles file."""
    return config_dir() / "config.toml"


def load_all() -> dict[str, Profile]:
    """Every profile of the file (none when there is no file)."""
    path = config_path()
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from exc
    known = {f.name for f in fields(Profile)} - {"name"}
    profiles = {}
    for name, table in (document.get("profiles") or {}).items():
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: [profiles.{name}] is not a table")
        unknown = sorted(set(table) - known)
        if unknown:
            raise ProfileError(f"{path}: [profiles.{name}] has unknown keys: {', '.join(unknown)}")
        profiles[name] = Profile(name=name, **{k: str(v) for k, v in table.items()})
    return profiles


def load(name: str) -> Profile:
    """The profile ``name``, or an empty one of that name."""
    return load_all().get(check_name(name)) or Profile(name=name)


def save(profile: Profile) -> Path:
    """Write ``profile`` into the file (the others kept); the file is the owner's only,
    since a profile may hold a client secret."""
    profiles = load_all() | {check_name(profile.name): profile}
    lines = ["# cmpapi CLI profiles: written by `cmpapi login`, may be edited."]
    for name in sorted(profiles):
        lines += ["", f"[profiles.{name}]"]
        lines += [f"{key} = {_toml_string(v)}" for key, v in profiles[name].settings().items()]
    _write_private(config_path(), "\n".join(lines) + "\n")
    return config_path()


def token_store(name: str) -> FileTokenStore:
    """The token store of profile ``name``."""
    from cmpapi.client import FileTokenStore

    return FileTokenStore(config_dir() / "tokens.json", key=check_name(name))


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string, once DEL (which TOML wants escaped) is.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def describe(profile: Profile) -> dict[str, Any]:
    """What ``whoami`` shows of a profile (never the secret)."""
    return {
        "profile": profile.name,
        "server": profile.where,
        "client_id": profile.client_id,
        "grant": profile.grant,
    }
