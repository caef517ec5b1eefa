"""HTTP server over any ``Web`` (local directory or live): our tool formats plus a Search-R1-compatible retriever.

Endpoints (request and response models are declared, so ``/openapi.json`` describes them):
    ``POST /search``   ``{"query": [..], "top_k": 10, "retrieval": "hybrid"}`` (retrieval optional: bm25 | dense |
                       hybrid; default: the web's) -> ``{"result": <search tool text>, "hits": [[SearchHit]]}``
    ``POST /visit``    ``{"url": "..." | [..], "goal": "..."}`` -> ``{"result": <visit tool text>}``
    ``POST /retrieve`` Search-R1 retrieval server: ``{"queries": [..], "topk": 3, "return_scores": true}`` ->
                       ``{"result": [[{"document": {"id", "title", "text", "contents"}, "score"}, ..], ..]}``
                       (without ``return_scores`` each inner item is the document itself, as in Search-R1)
    ``GET|HEAD /health`` backend status (503 when the backend is failing), request counters, web stats; no token

Limits and rules: ``openseeker.serve.limits`` (one ``top_k`` rule for every door). Bad input is a 4xx with a
JSON ``detail``; a failing backend is 503 (transient, ``Retry-After``), 424 (permanent) or 502 (unexpected), see
``openseeker.serve.backend``. The connection stays usable after any of them.

Safety: bind 127.0.0.1 unless told otherwise; optional bearer token (401 without it, compared in constant time);
request bodies over ``max_body_bytes`` get 413 and bodies that stall get 408 (``body_timeout_s``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model

from openseeker.errors import UserError
from openseeker.records import SearchHit
from openseeker.sandbox.sessions import SESSION_CHARS, SandboxSessions
from openseeker.sandbox.tool import CODE_EXEC_SCHEMA
from openseeker.serve.backend import BackendHealth, classify
from openseeker.serve.limits import (
    BODY_TIMEOUT_S,
    DEFAULT_MAX_BODY,
    RETRIEVE_BATCH,
    RETRIEVE_MAX_QUERIES,
    RETRIEVE_MAX_QUERY_CHARS,
    RETRIEVE_TOPK,
    SEARCH_MAX_QUERIES,
    SEARCH_MAX_QUERY_CHARS,
    SEARCH_TOP_K,
    TOP_K_HELP,
    VISIT_MAX_URLS,
    TopK,
    UText,
    check_queries,
)
from openseeker.web.base import RETRIEVAL_HELP, Web, ensure_retrieval, search_with
from openseeker.web.format import format_search
from openseeker.web.tools import Extractor, VisitTool

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_BODY", "RETRIEVE_TOPK", "BearerAuth", "BodyLimit", "create_app", "serve_http"]


# --------------------------------------------------------------------------- models (OpenAPI)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: UText | list[UText] = Field(
        description=f"One query or a list (at most {SEARCH_MAX_QUERIES}, each at "
        f"most {SEARCH_MAX_QUERY_CHARS} characters)."
    )
    top_k: TopK = SEARCH_TOP_K
    retrieval: Literal["bm25", "dense", "hybrid"] | None = Field(
        None, description=RETRIEVAL_HELP + " 400 when this web cannot (no dense index, a live web)."
    )


class VisitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: UText | list[UText] = Field(description=f"One url or a list (at most {VISIT_MAX_URLS}).")
    goal: UText = Field("", description="What to look for (used by the extractor with --extract).")


class CodeExecRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cmd: UText = Field(description=CODE_EXEC_SCHEMA["function"]["parameters"]["properties"]["cmd"]["description"])
    session: UText = Field(
        "default",
        max_length=SESSION_CHARS,
        description="The client's session: its calls share one sandbox (files, working directory) until it has "
        "been idle for 10 minutes.",
    )


class CodeExecResponse(BaseModel):
    result: str = Field(description="The code_exec tool's <shell_results>, exactly as the agent sees it.")


class RetrieveRequest(BaseModel):
    """Search-R1's ``QueryRequest`` (extra keys tolerated, as frameworks add their own)."""

    queries: list[UText] = Field(
        description=f"At most {RETRIEVE_MAX_QUERIES} queries, each at most "
        f"{RETRIEVE_MAX_QUERY_CHARS} characters; blank ones get an empty result list."
    )
    topk: TopK | None = Field(None, description=f"{TOP_K_HELP} Default {RETRIEVE_TOPK} (Search-R1's --topk).")
    return_scores: bool = False


# ``SearchHit`` without the record envelope (kind, schema_version): the fields a client of /search sees
Hit = create_model(
    "Hit",
    **{
        name: (field.annotation, field)
        for name, field in SearchHit.model_fields.items()
        if name not in ("kind", "schema_version")
    },
)


class SearchResponse(BaseModel):
    result: str = Field(description="The search tool's text block, exactly as the agent sees it.")
    hits: list[list[Hit]]


class VisitResponse(BaseModel):
    result: str


class RetrieveDocument(BaseModel):
    id: str = Field(description="The page's docid where its corpus has one, else its url.")
    title: str
    text: str
    contents: str = Field(description="'\"Title\"\\ntext', what Search-R1's clients split on.")


class ScoredDocument(BaseModel):
    document: RetrieveDocument
    score: float


class RetrieveResponse(BaseModel):
    result: list[list[ScoredDocument] | list[RetrieveDocument]]


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]]
    error: dict[str, Any] | None = Field(
        None, description="For backend failures: kind (transient / permanent / unexpected) and retryable."
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Bad input: invalid or too deeply nested JSON, empty / too many / "
        "too long queries, too many urls.",
    },
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token (only with --token)."},
    408: {"model": ErrorBody, "description": "The request body did not arrive in time."},
    413: {"model": ErrorBody, "description": "The request body is over the size limit."},
    422: {
        "model": ErrorBody,
        "description": "The body does not match the schema (e.g. top_k outside 1-50, a lone UTF-16 surrogate).",
    },
}
BACKEND_ERRORS: dict[int | str, dict[str, Any]] = {
    424: {
        "model": ErrorBody,
        "description": "Permanent backend failure (bad API key, misconfiguration): do not retry.",
    },
    502: {"model": ErrorBody, "description": "Unexpected backend failure."},
    503: {
        "model": ErrorBody,
        "description": "Transient backend failure (rate limit, upstream 5xx, timeout): retry "
        "after Retry-After seconds.",
    },
}


# --------------------------------------------------------------------------- JSON bodies


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise HTTPException(400, "the request body is JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the request body is not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise HTTPException(400, f"the request body is not valid JSON ({exc})") from None


class _JSONBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _parse_json(await self.body())
        return self._json


_JSON_CT = (b"content-type", b"application/json")


class LenientJSONRoute(APIRoute):
    """Reads the body as JSON whatever its Content-Type (``curl -d`` sends a form type) and turns JSON errors,
    including ``RecursionError`` on deeply nested input, into a 400 with a clear message."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            scope = request.scope
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                content_types = [v for k, v in scope["headers"] if k == b"content-type"]
                if not content_types or not content_types[0].split(b";")[0].strip().endswith(b"json"):
                    scope = dict(scope, headers=headers + [_JSON_CT])
            return await handler(_JSONBodyRequest(scope, request.receive))

        return route


# --------------------------------------------------------------------------- ASGI middleware


async def _send_json(send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``limit`` bytes (declared or streamed); 408 when the body does
    not arrive within ``timeout_s`` (a short body under a long Content-Length would otherwise hold the
    connection forever)."""

    def __init__(self, app, limit: int, timeout_s: float | None = BODY_TIMEOUT_S):
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
                if declared > self.limit:
                    return await self._too_large(send)
        # Buffer the body (at most ``limit`` bytes) before the app sees it: frameworks turn errors raised from
        # ``receive`` into 400s, so the limit is enforced here, then the body is replayed to the app.
        chunks, seen, more = [], 0, True
        try:
            async with asyncio.timeout(self.timeout_s):
                while more:
                    message = await receive()
                    if message["type"] != "http.request":  # client went away
                        return
                    chunk = message.get("body", b"")
                    seen += len(chunk)
                    if seen > self.limit:
                        return await self._too_large(send)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            of = f" of {declared}" if declared is not None else ""
            return await _send_json(
                send,
                408,
                {"detail": f"request body incomplete: {seen}{of} bytes arrived in {self.timeout_s:g} s"},
                [(b"connection", b"close")],
            )
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send):
        await _send_json(
            send,
            413,
            {"detail": f"request body too large (limit {self.limit} bytes; see --max-body)"},
            [(b"connection", b"close")],
        )


MCP_PATHS = ("/mcp", "/sse")  # the MCP transports (``mcp_server.mcp_http_app``); SSE posts go to /messages/...
MCP_MESSAGE_PREFIX = "/messages/"


def is_mcp_path(path: str) -> bool:
    """Whether ``path`` belongs to the MCP transports rather than to the HTTP tool routes."""
    return path.rstrip("/") in MCP_PATHS or path.startswith(MCP_MESSAGE_PREFIX)


UNAUTHORIZED = "missing or wrong bearer token"
JSONRPC_INVALID_REQUEST = -32600  # the code the MCP SDK's own server uses for its HTTP-level rejections


class BearerAuth:
    """ASGI middleware: every path except ``open_paths`` needs ``Authorization: Bearer <token>``.

    The 401 body speaks the protocol of the door: ``{"detail": ...}`` for the HTTP routes, a JSON-RPC error on the
    MCP paths, because MCP clients (the ``mcp`` SDK's streamable-HTTP client, so openai-agents and fastmcp) show the
    error of a JSON-RPC body and otherwise only "Server returned an error response".
    """

    def __init__(self, app, token: str, open_paths: tuple[str, ...] = ("/health",)):
        self.app, self.token, self.open_paths = app, token.encode(), open_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if not secrets.compare_digest(given, self.token):
            if is_mcp_path(scope.get("path", "")):
                body = {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": JSONRPC_INVALID_REQUEST, "message": UNAUTHORIZED},
                }
            else:
                body = {"detail": UNAUTHORIZED}
            return await _send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])
        await self.app(scope, receive, send)


class KeepServing:
    """Outermost ASGI guard: an exception that escapes the app is logged and answered (500 when nothing was sent
    yet) without re-raising, so the server does not drop the keep-alive connection and the client's next request
    still works. Bad input never gets here (it is a 4xx inside the app); this is for bugs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, {"detail": f"internal error ({type(exc).__name__}); see the server log"})


# --------------------------------------------------------------------------- app


def _retrieve_document(hit) -> dict[str, Any]:
    """A document as Search-R1's BM25 server returns it: ``title`` / ``text`` / ``contents = '"title"\\ntext'``."""
    title = " ".join(hit.title.split())  # a newline in a title would shift Search-R1's split of contents
    return {"id": hit.docid or hit.url, "title": title, "text": hit.snippet, "contents": f'"{title}"\n{hit.snippet}'}


class _Service:
    """What the route handlers share: the web, the request counters, the backend's health and the mutable app
    state (``extractor``; ``serve.cli`` adds ``close``). One per app."""

    def __init__(
        self, web: Web, *, extractor: Extractor | None, max_chars: int, retrieve_topk: int, retrieve_batch: int
    ):
        self.web, self.max_chars = web, max_chars
        self.retrieve_topk, self.retrieve_batch = retrieve_topk, retrieve_batch
        self.counts: Counter[str] = Counter()
        self.backend = BackendHealth()
        self.state: dict[str, Any] = {"extractor": extractor, "backend": self.backend}

    async def search(self, queries: list[str], top_k: int, retrieval: str | None = None):
        """``web.search`` (ranked by ``retrieval`` when given) with the failure classified, counted and recorded
        in the backend's health."""
        try:
            results = await search_with(self.web, queries, top_k, retrieval)
        except Exception as exc:
            failure = classify(exc)
            self.backend.failure(failure)
            self.counts["errors"] += 1
            if failure.kind == "unexpected":
                log.exception("search failed")
            raise _BackendFailed(failure) from None
        self.backend.success()
        return results


def _checked_queries(queries: list[str], **limits: Any) -> list[str]:
    """``check_queries`` with its ``ValueError`` turned into a 400."""
    try:
        return check_queries(queries, **limits)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _add_tool_routes(api: FastAPI, svc: _Service) -> None:
    """``/search`` and ``/visit``: our two agent tools."""

    @api.post("/search", response_model=SearchResponse, responses={**ERRORS, **BACKEND_ERRORS})
    async def search(req: SearchRequest) -> Any:
        """Our search tool: its text block plus the structured hits, one list per query."""
        svc.counts["search"] += 1
        queries = _checked_queries(req.query, max_queries=SEARCH_MAX_QUERIES, max_chars=SEARCH_MAX_QUERY_CHARS)
        try:
            await ensure_retrieval(svc.web, req.retrieval)
        except UserError as exc:  # no dense index, or a web that ranks with its own engine
            raise HTTPException(400, str(exc)) from None
        results = await svc.search(queries, req.top_k, req.retrieval)
        return {
            "result": format_search(queries, results),
            "hits": [[h.model_dump(include=set(Hit.model_fields)) for h in hits] for hits in results],
        }

    @api.post("/visit", response_model=VisitResponse, responses=ERRORS)
    async def visit(req: VisitRequest) -> Any:
        """Our visit tool: page text (or the extractor's answer); page errors are part of the text."""
        svc.counts["visit"] += 1
        urls = [req.url] if isinstance(req.url, str) else req.url
        if len(urls) > VISIT_MAX_URLS:
            raise HTTPException(400, f"{len(urls)} urls given; at most {VISIT_MAX_URLS} per request")
        if not any(u.strip() for u in urls):
            raise HTTPException(400, "no url given")
        tool = VisitTool(svc.web, extractor=svc.state["extractor"], max_chars=svc.max_chars)
        return {"result": await tool.execute({"url": urls, "goal": req.goal})}


def _add_code_exec_route(api: FastAPI, svc: _Service, sessions: SandboxSessions) -> None:
    """``/code_exec``: the agent's code tool, one sandbox per client session (only with --code-exec and a token)."""

    @api.post("/code_exec", response_model=CodeExecResponse, responses=ERRORS)
    async def code_exec(req: CodeExecRequest) -> Any:
        """Run a shell command in the session's sandbox (no network; time, memory and process limits)."""
        svc.counts["code_exec"] += 1
        if not req.cmd.strip():
            raise HTTPException(400, "cmd must be a non-empty string")
        return {"result": await sessions.run(req.session, req.cmd)}


def _add_retrieve_route(api: FastAPI, svc: _Service) -> None:
    """``/retrieve``: Search-R1's retrieval server protocol."""

    @api.post("/retrieve", response_model=RetrieveResponse, responses={**ERRORS, **BACKEND_ERRORS})
    async def retrieve(req: RetrieveRequest) -> Any:
        """Search-R1's retrieval server protocol; a whole rollout batch per request is fine (batched inside)."""
        svc.counts["retrieve"] += 1
        if not req.queries:
            return {"result": []}
        queries = _checked_queries(
            req.queries, max_queries=RETRIEVE_MAX_QUERIES, max_chars=RETRIEVE_MAX_QUERY_CHARS, keep_blank=True
        )
        topk = req.topk or svc.retrieve_topk
        results = []
        for start in range(0, len(queries), svc.retrieve_batch):
            results.extend(await svc.search(queries[start : start + svc.retrieve_batch], topk))
        out = []
        for hits in results:
            docs = [_retrieve_document(h) for h in hits]
            out.append([{"document": d, "score": h.score} for d, h in zip(docs, hits)] if req.return_scores else docs)
        return {"result": out}


def _add_health_routes(api: FastAPI, svc: _Service) -> None:
    """``GET|HEAD /health``: backend status, request counters and web stats (no token needed)."""

    @api.head("/health", include_in_schema=False)
    async def health_head() -> Any:
        return await health()

    @api.get("/health", responses={503: {"description": "The backend is failing."}})
    async def health(probe: bool = False) -> Any:
        """Server and backend status: ``ok``, ``degraded`` (recent transient failures) or ``failing`` (HTTP 503:
        repeated or permanent failures). ``?probe=true`` first runs one search through the backend (a billed call
        on a paid live backend)."""
        if probe:
            try:
                await svc.search(["health check"], 1)
            except _BackendFailed:
                pass
        web = svc.web
        stats = web.stats() if callable(getattr(web, "stats", None)) else {}
        report = svc.backend.report()
        body = {
            "status": report["status"],
            "web": getattr(web, "name", type(web).__name__),
            "backend": report,
            "requests": dict(svc.counts),
            "stats": stats,
        }
        return JSONResponse(body, status_code=503 if report["status"] == "failing" else 200)


def _add_error_handlers(api: FastAPI) -> None:
    """Every error is a JSON ``detail`` with the right status (backend failures carry their own body/headers)."""

    @api.exception_handler(_BackendFailed)
    async def _backend_error(request: Request, exc: _BackendFailed):
        return JSONResponse(exc.failure.body(), status_code=exc.failure.status, headers=exc.failure.headers())

    @api.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # loc + msg only: echoing the rejected input back could itself fail (a lone surrogate cannot be encoded)
        detail = [
            {
                "loc": [p for p in e.get("loc", ()) if p != "body" and not (isinstance(p, str) and "[" in p)],
                "msg": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)


def create_app(
    web: Web,
    *,
    token: str | None = None,
    extractor: Extractor | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    retrieve_topk: int = RETRIEVE_TOPK,
    max_chars: int = 20_000,
    body_timeout_s: float | None = BODY_TIMEOUT_S,
    retrieve_batch: int = RETRIEVE_BATCH,
    lifespan=None,
    mcp_app: Any = None,
    code_exec: SandboxSessions | None = None,
) -> Any:
    """The ASGI app serving ``web``. ``extractor`` (optional) makes ``/visit`` goal-conditioned, as in the agent.
    ``mcp_app`` (optional, from ``mcp_server.mcp_http_app``) is served beside it at ``/mcp``, ``/sse`` and
    ``/messages/`` (its lifespan must be entered by ``lifespan``). ``code_exec`` (optional) adds ``/code_exec``,
    and is refused without a ``token``: a shell, even sandboxed, is never open to whoever reaches the port.

    Returns the app wrapped in the body-limit, (when ``token`` is set) bearer-auth and keep-serving middleware;
    the FastAPI object itself is at ``app.fastapi`` for tests.
    """
    api = FastAPI(
        title="openseeker web",
        version="2",
        lifespan=lifespan,
        description="search / visit over an openseeker web; /retrieve speaks Search-R1's protocol. "
        "Errors: 4xx for bad input, 503 (retry) / 424 (permanent) / 502 for backend failures.",
    )
    api.router.route_class = LenientJSONRoute
    svc = _Service(
        web, extractor=extractor, max_chars=max_chars, retrieve_topk=retrieve_topk, retrieve_batch=retrieve_batch
    )
    api.state.openseeker = svc.state
    if code_exec is not None:
        if not token:
            raise UserError("code_exec is served only behind a bearer token: add --token")
        _add_code_exec_route(api, svc, code_exec)
    _add_tool_routes(api, svc)
    _add_retrieve_route(api, svc)
    _add_health_routes(api, svc)
    _add_error_handlers(api)

    app: Any = BodyLimit(api if mcp_app is None else WithMCP(api, mcp_app), max_body_bytes, timeout_s=body_timeout_s)
    if token:
        app = BearerAuth(app, token)
    app = KeepServing(app)
    app.fastapi = api
    return app


class WithMCP:
    """Routes the MCP transports' paths to ``mcp_app`` and everything else (and the lifespan) to ``app``."""

    def __init__(self, app, mcp_app):
        self.app, self.mcp_app = app, mcp_app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and is_mcp_path(scope.get("path", "")):
            return await self.mcp_app(scope, receive, send)
        return await self.app(scope, receive, send)


class _BackendFailed(Exception):
    def __init__(self, failure):
        super().__init__(failure.message)
        self.failure = failure


def nodelay_h11_protocol() -> type:
    """uvicorn's h11 protocol with TCP_NODELAY forced on every connection.

    asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP; the listening socket uvicorn binds
    itself for ``workers > 1`` has ``proto == 0``, so its connections keep Nagle's algorithm and every response
    written as headers + body stalls ~40 ms on the client's delayed ACK (measured: /health p50 45 ms instead of
    1-5 ms). Forcing it here makes single- and multi-process serving behave the same.
    """
    import socket

    from uvicorn.protocols.http.h11_impl import H11Protocol

    class NoDelayH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except (OSError, AttributeError):
                    pass
            super().connection_made(transport)

    return NoDelayH11Protocol


def run_uvicorn(config: Any, on_listening: Callable[[int], None] | None = None) -> None:
    """Run a uvicorn server (blocking) and call ``on_listening(port)`` once its socket accepts connections.

    Importing the app's stack and entering its lifespan take seconds (about 25 s with four servers starting at
    once): a "serving on" line printed before that sends clients and scripts to a port that refuses them. The
    port is the bound one (``--port 0`` picks a free port).
    """
    import uvicorn

    class _Announcing(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_listening is not None:
                on_listening(self.servers[0].sockets[0].getsockname()[1])

    _Announcing(config).run()


def serve_http(
    web: Web,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    extractor: Extractor | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    lifespan=None,
    log_level: str = "warning",
) -> None:
    """Run the app with uvicorn until interrupted (blocking)."""
    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        log.warning("serving on %s without --token: anyone who can reach this address can use the web tools", host)
    app = create_app(web, token=token, extractor=extractor, max_body_bytes=max_body_bytes, lifespan=lifespan)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on" if lifespan else "auto",
        timeout_keep_alive=30,
        http=nodelay_h11_protocol(),
    )
    uvicorn.Server(config).run()


def __getattr__(name: str) -> Any:
    # ``NoDelayH11Protocol`` as an import string for uvicorn workers, built lazily (uvicorn is imported on use)
    if name == "NoDelayH11Protocol":
        return nodelay_h11_protocol()
    raise AttributeError(name)
