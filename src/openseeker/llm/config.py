"""LLM configuration: which endpoint and sampling settings serve each role.

Layers, later wins: the packaged defaults (``openseeker/configs/default.yaml``) < the user's YAML (``--config``) <
the CLI. Within a layer ``roles.<role>`` overrides ``default``; a later layer's ``default`` overrides every role
of the earlier layers (so ``default: {temperature: 0.3}`` in your file applies to all roles). On the command
line ``--llm embedded`` forces the embedded model for every role; ``--base-url``/``--model`` point every role at
one endpoint. With nothing configured every role uses the embedded SmolLM2 server.

The YAML file has one section per stage; this module reads ``llm:`` (see ``docs/config.md``)::

    llm:
      default:                 # applies to every role; role entries override it key by key
        base_url: http://localhost:8000/v1
        model: Qwen/Qwen3-8B
      roles:
        teacher: {temperature: 0.7, max_tokens: 4096}
        judge: {base_url: https://api.openai.com/v1, model: gpt-4.1-mini, api_key_env: OPENAI_API_KEY}
      cache_dir: ~/.cache/openseeker/llm
      embedded: {n_ctx: 8192, n_parallel: 4, threads: 0}

Unknown keys anywhere in ``llm:`` are errors naming the key; unknown role names are errors listing ``ROLES``.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from openseeker.config import check_keys, load_config
from openseeker.errors import UserError
from openseeker.llm.base import ROLES

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
DUMMY_API_KEY = "EMPTY"  # local servers (vLLM, SGLang, llama.cpp) accept any key


class EndpointConfig(BaseModel):
    """Where one role sends its chat calls and with which defaults.

    Args:
        base_url: OpenAI-compatible endpoint (``http://host:8000/v1``). ``None`` means the embedded server.
            Several replicas of one server: comma-separated, or a YAML list (``openseeker.llm.replicas``).
        model: model name sent to the endpoint. Empty: the first model listed by ``GET /models``.
        api_key_env: name of the environment variable holding the API key; ``None`` for servers without auth.
        temperature, max_tokens, top_p: sampling defaults (a call may override temperature and max_tokens).
        concurrency: maximum in-flight requests to this endpoint (to each replica when it lists several); roles
            sharing a ``base_url`` share one limit (the largest value among them).
        timeout_s: per-request timeout in seconds.
        max_retries: retries of transient failures (timeouts, 429, 5xx, connection errors, malformed bodies).
        backoff_s: base of the exponential backoff between retries (seconds, equal jitter, capped at 30 s;
            ``openseeker.retry``).
        cache: keep responses in the persistent cache (also disabled by ``OPENSEEKER_NO_CACHE=1``).
        extra_body: extra JSON fields sent with every request (e.g. ``{"top_k": 20}`` for vLLM).
        embedded: serve this role with the embedded SmolLM2 model (set automatically when ``base_url`` is None).
        transport: HTTP client: ``aiohttp`` (fast, the ``auto`` choice when installed) or ``openai`` (the SDK);
            ``OPENSEEKER_LLM_TRANSPORT`` overrides ``auto``.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    model: str = ""
    api_key_env: str | None = None
    temperature: float = 0.0
    max_tokens: int | None = 1024
    top_p: float | None = None
    concurrency: int = Field(default=8, ge=1)
    timeout_s: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    cache: bool = True
    extra_body: dict[str, Any] = Field(default_factory=dict)
    embedded: bool = False
    transport: Literal["auto", "aiohttp", "openai"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _replica_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("base_url"), (list, tuple)):
            data = {**data, "base_url": ",".join(str(u).strip().rstrip("/") for u in data["base_url"])}
        return data

    @model_validator(mode="after")
    def _embedded_or_url(self) -> EndpointConfig:
        if self.base_url in (None, "", "embedded"):
            self.base_url = None
            self.embedded = True
        elif self.embedded:
            raise ValueError(f"embedded: true and base_url: {self.base_url!r} conflict; drop one of them")
        if self.base_url:
            self.base_url = ",".join(u.strip().rstrip("/") for u in self.base_url.split(",") if u.strip())
        return self

    @property
    def replicas(self) -> list[str]:
        """The replicas serving this endpoint (``base_url`` may list several, comma-separated or as a YAML list)."""
        return [] if self.embedded else str(self.base_url).split(",")

    @property
    def endpoint_key(self) -> str:
        """Identity of the server (roles with the same key share a connection pool and concurrency limit)."""
        return "embedded" if self.embedded else str(self.base_url)

    def api_key(self) -> str:
        """The API key from ``api_key_env``; a dummy when none is configured. Raises UserError if the var is unset."""
        if not self.api_key_env:
            return DUMMY_API_KEY
        value = os.environ.get(self.api_key_env)
        if not value:
            raise UserError(
                f"environment variable {self.api_key_env} is not set (api_key_env for endpoint {self.base_url}); "
                f"export it, or set api_key_env: null for a server without authentication"
            )
        return value


class EmbeddedSettings(BaseModel):
    """Settings of the embedded llama.cpp server (one per process, shared by every embedded role).

    Args:
        n_ctx: context window in tokens (SmolLM2 was trained with 8192); shared by all parallel slots.
        n_parallel: requests decoded concurrently (continuous batching); at most 4 per thread the server runs.
        threads: CPU threads; 0 means every core when the machine is idle at start, else all usable cores but one
            (see ``embedded.auto_threads``).
        poll: how hard llama.cpp's worker threads busy-wait for work, 0-100 (llama.cpp's own default is 50; ours
            0: they sleep, which costs nothing measurable on an idle machine and halves the loss when another
            program takes a core; benchmarks/bench_embedded_load.py).
        servers: independent llama.cpp servers the requests are spread over (least-loaded, like endpoint
            replicas), each with its own ``n_parallel`` slots and ``threads`` threads (0: the cores shared out).
        model_path: a GGUF file to serve instead of the packaged SmolLM2-135M-Instruct.
        startup_timeout_s: how long to wait for the server to answer before giving up.
    """

    model_config = ConfigDict(extra="forbid")

    n_ctx: int = Field(default=8192, ge=256)
    n_parallel: int = Field(default=4, ge=1)
    threads: int = Field(default=0, ge=0)
    poll: int = Field(default=0, ge=0, le=100)
    servers: int = Field(default=1, ge=1)
    model_path: str | None = None
    startup_timeout_s: float = Field(default=120.0, gt=0)


def default_cache_dir() -> str:
    return os.environ.get("OPENSEEKER_CACHE_DIR") or str(Path("~/.cache/openseeker/llm").expanduser())


class LLMConfig(BaseModel):
    """The resolved configuration: one ``EndpointConfig`` per role, the cache location, embedded settings."""

    model_config = ConfigDict(extra="forbid")

    roles: dict[str, EndpointConfig]
    cache_dir: str = Field(default_factory=default_cache_dir)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)

    @model_validator(mode="after")
    def _known_roles(self) -> LLMConfig:
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are: {', '.join(ROLES)}")
        for role in ROLES:  # every role is always present
            self.roles.setdefault(role, EndpointConfig())
        self.cache_dir = str(Path(self.cache_dir).expanduser())
        return self

    def role(self, name: str) -> EndpointConfig:
        if name not in self.roles:
            raise UserError(f"unknown LLM role {name!r}; roles are: {', '.join(ROLES)}")
        return self.roles[name]

    @property
    def needs_embedded(self) -> bool:
        return any(ep.embedded for ep in self.roles.values())

    def check_api_keys(self) -> None:
        """Raise UserError now (at start) if any role's API key variable is missing."""
        for ep in self.roles.values():
            if not ep.embedded:
                ep.api_key()

    def describe(self) -> dict[str, Any]:
        """Per-role endpoint, model and sampling defaults, for provenance. Never contains API keys."""
        out: dict[str, Any] = {}
        for role, ep in self.roles.items():
            out[role] = {
                "backend": "embedded" if ep.embedded else "openai-compatible",
                "base_url": ep.base_url,
                "model": EMBEDDED_MODEL_NAME if ep.embedded and not ep.model else ep.model,
                "temperature": ep.temperature,
                "max_tokens": ep.max_tokens,
                "top_p": ep.top_p,
                "api_key_env": ep.api_key_env,
            }
        return out


# --------------------------------------------------------------------------- loading and merging


_LLM_SECTION_KEYS = ("default", "roles", "cache_dir", "embedded")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "extra_body":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate_llm_section(section: Any, source: str) -> dict[str, Any]:
    """The ``llm:`` section of a config file, its keys checked (it stays a mapping: layers merge key by key)."""
    section = check_keys(section, _LLM_SECTION_KEYS, "llm", source)
    endpoint_keys = set(EndpointConfig.model_fields)
    check_keys(section.get("default"), endpoint_keys, "llm.default", source)
    roles = check_keys(section.get("roles"), set(ROLES), "llm.roles", source)
    for role, body in roles.items():
        check_keys(body, endpoint_keys, f"llm.roles.{role}", source)
    check_keys(section.get("embedded"), set(EmbeddedSettings.model_fields), "llm.embedded", source)
    return section


def packaged_defaults() -> dict[str, Any]:
    """The ``llm:`` section of ``openseeker/configs/default.yaml``."""
    import yaml

    text = resources.files("openseeker").joinpath("configs/default.yaml").read_text(encoding="utf-8")
    source = "openseeker/configs/default.yaml"
    data = check_keys(yaml.safe_load(text) or {}, ("llm",), "<top level>", source)
    return validate_llm_section(data.get("llm"), source)


def _expand(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One layer's per-role settings: its ``default`` with its ``roles.<role>`` on top."""
    default = section.get("default") or {}
    return {role: _deep_merge(default, (section.get("roles") or {}).get(role) or {}) for role in ROLES}


def _build(layers: list[dict[str, Any]], source: str) -> LLMConfig:
    """Merge layers (earlier = lower precedence) role by role, then validate."""
    roles: dict[str, dict[str, Any]] = {role: {} for role in ROLES}
    payload: dict[str, Any] = {}
    for section in layers:
        for role, body in _expand(section).items():
            roles[role] = _deep_merge(roles[role], body)
        if section.get("cache_dir"):
            payload["cache_dir"] = str(section["cache_dir"])
        if section.get("embedded"):
            payload["embedded"] = _deep_merge(payload.get("embedded") or {}, section["embedded"])
    payload["roles"] = roles
    try:
        return LLMConfig.model_validate(payload)
    except ValidationError as exc:
        raise UserError(f"{source}: invalid llm config: {_where_set(exc, layers)}") from None


def _where_set(exc: ValidationError, layers: list[dict[str, Any]]) -> str:
    """The problems of a merged config named where the user wrote the value: a bad ``llm.default.timeout_s`` is
    one problem at ``llm.default.timeout_s``, not one per role at ``roles.<role>.timeout_s`` (a key the user never
    wrote)."""
    problems: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if len(loc) >= 3 and loc[0] == "roles":
            role, key = loc[1], loc[2]
            where = f"llm.roles.{role}.{'.'.join(loc[2:])}"
            for section in reversed(layers):  # the latest layer that set it wins the merge: that is where it is
                if key in ((section.get("roles") or {}).get(role) or {}):
                    break
                if key in (section.get("default") or {}):
                    where = f"llm.default.{'.'.join(loc[2:])}"
                    break
        else:
            where = "llm." + ".".join(loc) if loc else "llm"
        problems.setdefault(where, err["msg"])
    return "; ".join(f"{where}: {msg}" for where, msg in problems.items())


def resolve_llm_config(
    *,
    config: Path | str | None = None,
    llm: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    check_keys: bool = True,
) -> LLMConfig:
    """Resolve the LLM config from packaged defaults < YAML file < CLI flags.

    Args:
        config: a YAML file with an ``llm:`` section (other top-level sections belong to other stages).
        llm: ``"embedded"`` forces every role onto the embedded model; ``"openai"`` (or None) uses the
            endpoints from ``config`` / ``base_url``.
        base_url: point every role at this OpenAI-compatible endpoint (overrides the YAML endpoints, keeps its
            sampling settings).
        model: model name for every role (with ``base_url``; alone it renames the model of every non-embedded
            role).
        check_keys: raise UserError now if an API key environment variable is missing.

    Returns:
        The validated ``LLMConfig``; every role in ``ROLES`` is present.
    """
    layers = [packaged_defaults()]
    source = "defaults"
    if config is not None:
        path = Path(config).expanduser()
        layers.append(load_config(path).get("llm") or {})
        source = str(path)
    if llm not in (None, "", "embedded", "openai"):
        raise UserError(f"--llm must be 'embedded' or 'openai', got {llm!r}")
    if llm == "embedded" and base_url:
        raise UserError("--llm embedded and --base-url conflict; drop one of them")
    if llm == "openai" and not base_url and config is None:
        raise UserError("--llm openai needs --base-url URL (and --model NAME) or --config FILE")
    if model and not base_url and llm != "embedded":
        has_endpoint = any(body.get("base_url") for layer in layers for body in _expand(layer).values())
        if not has_endpoint:
            raise UserError("--model needs --base-url (or an endpoint in --config); the embedded model is fixed")

    cfg = _build(layers, source)
    # With --base-url the key comes from llm.default.api_key_env, else OPENSEEKER_API_KEY if set, else none.
    cli_key_env = (layers[-1].get("default") or {}).get("api_key_env") or (
        "OPENSEEKER_API_KEY" if os.environ.get("OPENSEEKER_API_KEY") else None
    )
    for ep in cfg.roles.values():
        if llm == "embedded":
            ep.base_url, ep.embedded, ep.model, ep.api_key_env = None, True, "", None
        elif base_url:
            ep.base_url, ep.embedded = base_url.rstrip("/"), False
            ep.api_key_env = cli_key_env
            if model:
                ep.model = model
            elif ep.model == EMBEDDED_MODEL_NAME:
                ep.model = ""
        elif model and not ep.embedded:
            ep.model = model
    if check_keys:
        cfg.check_api_keys()
    return cfg


def embedded_config(**embedded: Any) -> LLMConfig:
    """An all-embedded config (every role on SmolLM2), e.g. for tests and examples."""
    cfg = resolve_llm_config(llm="embedded")
    if embedded:
        cfg.embedded = cfg.embedded.model_copy(update=embedded)
    return cfg


def endpoint_config(base_url: str, model: str = "", **settings: Any) -> LLMConfig:
    """Every role on one endpoint with the given EndpointConfig settings (no YAML), e.g. for tests."""
    cache_dir = settings.pop("cache_dir", None)
    roles = {role: EndpointConfig(base_url=base_url, model=model, **settings) for role in ROLES}
    return LLMConfig(roles=roles, **({"cache_dir": cache_dir} if cache_dir else {}))
