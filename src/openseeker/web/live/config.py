"""``LiveWebConfig``: which search backend, its keys (by env var name), fetch limits, SSRF allow-list, cache, rates.

A config is YAML (or a dict), either the whole file or the ``live:`` section of the main openseeker YAML:

.. code-block:: yaml

    live:
      backend: serper            # serper | tavily | searxng | ddgs  (required: there is no silent default)
      serper: {api_key_env: SERPER_API_KEY}
      searxng: {base_url: http://127.0.0.1:8888}
      fetch: {max_bytes: 5000000, reader_url: null}
      ssrf: {allow: []}          # hosts or CIDRs that bypass the private-address block (e.g. 127.0.0.1)
      cache: {path: ~/.cache/openseeker/live.sqlite, search_ttl_s: 604800}

Unknown keys are errors (a typo must not silently fall back to a default). API keys are never stored in the
config, only the NAME of the environment variable holding them; a missing key is a ``UserError`` at start-up.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from openseeker.config import pydantic_problems, read_yaml
from openseeker.errors import UserError
from openseeker.registry import Registry

# The search backends by name, as lazy "module:Class" targets: this section validates names against it, and the
# backends' module imports this one for their settings classes (so the registry lives here, not there).
BACKENDS: Registry[Any] = Registry("search backend")
BACKENDS.register("serper", "openseeker.web.live.search_backends:SerperBackend")
BACKENDS.register("tavily", "openseeker.web.live.search_backends:TavilyBackend")
BACKENDS.register("searxng", "openseeker.web.live.search_backends:SearxngBackend")
BACKENDS.register("ddgs", "openseeker.web.live.search_backends:DdgsBackend")

ENV_CONFIG = "OPENSEEKER_LIVE_CONFIG"
DEFAULT_CACHE = "~/.cache/openseeker/live.sqlite"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendSettings(_Strict):
    """Settings shared by every search backend.

    Attributes:
        base_url: the API root (tests point it at 127.0.0.1); ``None`` = the backend's public default.
        api_key_env: NAME of the environment variable holding the key (``None`` for keyless backends).
        timeout_s: per-request timeout.
        rate_per_s: token-bucket refill rate (requests/second); ``burst`` tokens at most.
        burst: token-bucket capacity.
        max_retries: retries on 429 / 5xx / network errors (exponential backoff with jitter from ``backoff_s``,
            capped at 8 s; a server's Retry-After is honoured up to that cap).
        cost_per_1k: USD per 1000 requests, for cost accounting (cache hits are free).
        params: extra request parameters merged into each API call (e.g. ``{"search_depth": "advanced"}``).
    """

    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 20.0
    rate_per_s: float = 5.0
    burst: int = 5
    max_retries: int = 3
    backoff_s: float = 0.5
    cost_per_1k: float = 0.0
    params: dict[str, Any] = Field(default_factory=dict)


class SerperSettings(BackendSettings):
    base_url: str | None = "https://google.serper.dev"
    api_key_env: str | None = "SERPER_API_KEY"
    cost_per_1k: float = 1.0


class TavilySettings(BackendSettings):
    base_url: str | None = "https://api.tavily.com"
    api_key_env: str | None = "TAVILY_API_KEY"
    cost_per_1k: float = 8.0


class SearxngSettings(BackendSettings):
    base_url: str | None = None  # self-hosted: must be given
    rate_per_s: float = 2.0


class DdgsSettings(BackendSettings):
    rate_per_s: float = 1.0
    burst: int = 2
    ddgs_backend: str = "auto"  # ddgs' own engine choice ("auto", "duckduckgo", "bing", ...)


class FetchSettings(_Strict):
    """Live ``visit`` limits.

    Attributes:
        timeout_s: per-read/connect timeout; ``total_timeout_s`` bounds a whole fetch (slow-drip pages).
        max_bytes: body size cap; the download is aborted past it (streamed).
        max_redirects: redirect hops followed (each re-checked by the SSRF guard).
        reader_url: optional Jina-Reader-style service: ``GET {reader_url}/{url}`` returns the page as text.
        reader_api_key_env: env var with the reader's bearer key (optional).
        pdf: extract PDF text with ``pypdf`` (refused with a clear message when ``False`` or not installed).
        ca_bundle: PEM file of extra CAs to trust for https pages (e.g. a corporate TLS proxy); default: the
            system/certifi store.
        rate_per_s, burst: token bucket over all page fetches. Fetches are not retried: the agent sees the error
            and decides (it may visit again or pick another result).
    """

    timeout_s: float = 15.0
    total_timeout_s: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = "Mozilla/5.0 (compatible; openseeker/0.1; +https://github.com/openseeker)"
    reader_url: str | None = None
    reader_api_key_env: str | None = None
    pdf: bool = True
    ca_bundle: str | None = None
    rate_per_s: float = 10.0
    burst: int = 10


class SSRFSettings(_Strict):
    """Which addresses ``visit`` may reach. ``allow`` entries (hostnames, IPs or CIDRs) bypass the block."""

    allow: list[str] = Field(default_factory=list)
    block_private: bool = True


class CacheSettings(_Strict):
    """Persistent SQLite cache of search results and pages (``path: null`` = in-memory, per process)."""

    enabled: bool = True
    path: str | None = DEFAULT_CACHE
    search_ttl_s: float = 7 * 24 * 3600
    page_ttl_s: float = 7 * 24 * 3600


class LiveWebConfig(_Strict):
    """The live web: one search backend + fetch/SSRF/cache settings. See the module docstring for YAML.

    The per-backend sections (``serper:``, ``ddgs:``, ...) are not written here: ``for_backends()`` derives the
    model with one field per registered search backend, typed by that backend's ``settings_class``.
    """

    backend: str
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    ssrf: SSRFSettings = Field(default_factory=SSRFSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    max_concurrency: int = 8

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        BACKENDS.check(value)
        return value

    @classmethod
    def for_backends(cls) -> type[LiveWebConfig]:
        """This model plus one section per registered search backend (``BACKENDS``), typed by its settings."""
        return _with_sections(tuple((name, backend.settings_class) for name, backend in BACKENDS.items()))

    def backend_settings(self, name: str | None = None) -> BackendSettings:
        """The settings section of backend ``name`` (default: the configured one)."""
        name = name or self.backend
        section = self.__dict__.get(name)
        if section is None:  # a model without that section (the bare base class): the backend's defaults
            section = BACKENDS.get(name).settings_class()
        return section

    def api_key(self, name: str | None = None) -> str | None:
        """The backend's API key from its env var; ``UserError`` when the backend needs one and it is unset."""
        name = name or self.backend
        settings = self.backend_settings(name)
        needs_key = BACKENDS.get(name).needs_key
        if not needs_key:
            return None
        env = settings.api_key_env
        if not env:
            raise UserError(
                f"live web: backend '{name}' needs an API key; set live.{name}.api_key_env to the NAME "
                "of the environment variable holding it"
            )
        key = os.environ.get(env, "").strip()
        if not key:
            raise UserError(
                f"live web: backend '{name}' needs an API key in the environment variable {env} "
                f"(export {env}=...), or choose a keyless backend (searxng with a base_url, or ddgs)"
            )
        return key


@lru_cache(maxsize=16)
def _with_sections(sections: tuple[tuple[str, type[BackendSettings]], ...]) -> type[LiveWebConfig]:
    fields: dict[str, Any] = {name: (cls, Field(default_factory=cls)) for name, cls in sections}
    return create_model("LiveWebConfig", __base__=LiveWebConfig, **fields)


def _validate(data: dict[str, Any], where: str) -> LiveWebConfig:
    try:
        return LiveWebConfig.for_backends().model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{where}: invalid live-web config: {pydantic_problems(exc)}") from None


def _names() -> list[str]:
    return BACKENDS.names()


def validate_live_section(section: Any, source: str) -> LiveWebConfig:
    """The ``live:`` section of the main config file (``openseeker.config.SECTIONS``)."""
    if not isinstance(section, dict):
        raise UserError(f"{source}: live must be a mapping, got {type(section).__name__}")
    return _validate(section, source)


def load_live_config(source: Any = None) -> LiveWebConfig:
    """Resolve a live-web config from a path, a dict, a ``LiveWebConfig`` or ``None``.

    ``None`` reads the file named by ``$OPENSEEKER_LIVE_CONFIG``; without it this is a ``UserError`` (there is no
    silent default backend: each costs money or needs a server). A dict or file with a top-level ``live:``
    section uses that section (so the main openseeker YAML can hold it next to the LLM roles).
    """
    if isinstance(source, LiveWebConfig):
        return source
    where = "live-web config"
    if source is None:
        env = os.environ.get(ENV_CONFIG, "").strip()
        if not env:
            raise UserError(
                "--web live needs a live-web config: pass --web-config FILE (a YAML with "
                f"`backend: {'|'.join(_names())}`, see docs/live-web.md), a `live:` section in --config, or set "
                f"${ENV_CONFIG}"
            )
        source = Path(env).expanduser()
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        where = str(path)
        data = read_yaml(path)
    elif isinstance(source, dict):
        data = source
    else:
        raise UserError(f"live-web config must be a path, a dict or a LiveWebConfig, got {type(source).__name__}")
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping at the top level")
    if "live" in data and isinstance(data["live"], dict):
        data = data["live"]
    elif "backend" not in data:
        raise UserError(f"{where}: no `live:` section and no `backend:` key; name a backend ({', '.join(_names())})")
    return _validate(data, where)


def live_config_source(web_config: str | Path | None = None, config: str | Path | None = None) -> Path | None:
    """What to pass as ``open_web("live", config=...)`` from the CLI flags ``--web-config`` and ``--config``.

    ``--web-config`` wins; else ``--config`` when that YAML has a ``live:`` section; else ``None`` (then
    ``$OPENSEEKER_LIVE_CONFIG``, or a ``UserError`` saying what to pass).
    """
    if web_config is not None:
        return Path(web_config).expanduser()
    if config is not None:
        path = Path(config).expanduser()
        if isinstance(read_yaml(path).get("live"), dict):
            return path
    return None
