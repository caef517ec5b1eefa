"""``openseeker serve`` (HTTP: /search, /visit, /retrieve, /health) and ``openseeker mcp`` (MCP: search, visit)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from openseeker.agent.extract import LLMExtractor
from openseeker.agent.options import RetrievalOpt
from openseeker.agent.settings import agent_section
from openseeker.agent.toolset import code_exec_tool
from openseeker.cli.options import BaseUrlOpt, ConfigOpt, LLMOpt, ModelOpt, WebConfigOpt, WebOpt
from openseeker.errors import UserError
from openseeker.llm.config import resolve_llm_config
from openseeker.llm.pool import LLMPool
from openseeker.sandbox.sessions import SandboxSessions
from openseeker.web.open import connect_web, live_config_from_flags

if TYPE_CHECKING:
    from openseeker.llm.config import LLMConfig


log = logging.getLogger(__name__)


HostOpt = Annotated[
    str, typer.Option("--host", help="Address to bind. Default loopback only; anything else should come with --token.")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="OPENSEEKER_SERVE_TOKEN",
        help="Require 'Authorization: Bearer TOKEN' (env OPENSEEKER_SERVE_TOKEN).",
    ),
]
MaxBodyOpt = Annotated[
    int,
    typer.Option(
        "--max-body",
        help="Largest request body in bytes (413 above). The "
        "default, 8 MiB, fits a Search-R1 batch of 2,560 queries of 400 "
        "characters even with every character \\u-escaped.",
    ),
]
CodeExecOpt = Annotated[
    bool,
    typer.Option(
        "--code-exec",
        help="Also serve the code_exec tool (a shell in a sandbox per client session; agent.sandbox in --config "
        "sets the backend and limits). Off by default; over HTTP only with --token.",
    ),
]


def code_exec_sessions(enabled: bool, config: Path | None) -> SandboxSessions | None:
    """The sandbox sessions of ``--code-exec`` (checked now: no working sandbox is a one-line refusal)."""
    if not enabled:
        return None
    return SandboxSessions(code_exec_tool(json.dumps(agent_section(config).get("sandbox") or {}, sort_keys=True)))


ExtractOpt = Annotated[
    bool,
    typer.Option(
        "--extract/--no-extract",
        help="Goal-conditioned /visit with the "
        "extractor LLM role (--llm/--base-url/--model/--config); default: raw "
        "page text.",
    ),
]


SERVE_EPILOG = """Examples:

  openseeker serve --web webs/wiki --port 8000

  openseeker serve --web live --web-config live.yaml --token s3cret --extract --base-url http://localhost:8001/v1

  curl -s localhost:8000/retrieve -d '{"queries": ["Eiffel Tower architect"], "topk": 3, "return_scores": true}'

  curl -s localhost:8000/health          # 503 + "failing" when the search backend keeps failing

  openseeker serve --web webs/wiki --mcp openseeker --token s3cret   # + MCP at /mcp (streamable) and /sse

  openseeker serve --web webs/wiki --code-exec --token s3cret   # + POST /code_exec (a bwrap sandbox per session)
"""


MCP_EPILOG = """Examples:

  openseeker mcp --web webs/wiki                       # stdio (for Claude Desktop, IDEs, agents)

  openseeker mcp --web live --web-config live.yaml --transport http --port 8765 --token s3cret
      # streamable HTTP at http://127.0.0.1:8765/mcp, SSE at /sse (and GET /mcp)

  openseeker mcp --web webs/bcp --tools browsecomp-plus --transport sse --port 8080
      # BrowseComp-Plus's tools: their clients take --mcp-url http://127.0.0.1:8080/mcp
"""


class PoolExtractor:
    """The ``extractor`` LLM role behind the ``Extractor`` protocol, with the LLM pool opened lazily on first use
    (inside the server's event loop) and closed by ``aclose``."""

    def __init__(self, llm_config: LLMConfig):
        self.llm_config = llm_config
        self._pool = None
        self._extractor = None
        self._lock = None

    async def __call__(self, url: str, title: str, text: str, goal: str) -> str | None:

        if self._extractor is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._extractor is None:
                    pool = LLMPool(self.llm_config)
                    await pool.__aenter__()
                    self._pool = pool
                    self._extractor = LLMExtractor(pool.role("extractor"))
        return await self._extractor(url, title, text, goal)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.__aexit__(None, None, None)
            self._pool = self._extractor = None


def _extractor(
    extract: bool, llm: str | None, base_url: str | None, model: str | None, config: Path | None
) -> PoolExtractor | None:
    if not extract:
        if llm or base_url or model:
            raise UserError("--llm/--base-url/--model only matter with --extract (goal-conditioned /visit)")
        return None

    return PoolExtractor(resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model))


SPEC_ENV = "OPENSEEKER_SERVE_SPEC"


def build_app_from_spec(spec: dict[str, Any]) -> Any:
    """The HTTP app for the ``serve`` flags in ``spec`` (web, web_config, config, token, max_body, extract, llm,
    base_url, model, mcp); the web and the extractor's LLM pool are closed at shutdown (or by ``state["close"]``).
    With ``mcp`` the MCP server with that tool set shares the port (``/mcp``, ``/sse``) and the web."""
    from contextlib import AsyncExitStack, asynccontextmanager

    from openseeker.serve.http import DEFAULT_MAX_BODY, create_app

    config = Path(spec["config"]) if spec.get("config") else None
    web_config = Path(spec["web_config"]) if spec.get("web_config") else None
    extractor = _extractor(
        spec.get("extract", False), spec.get("llm"), spec.get("base_url"), spec.get("model"), config
    )
    mcp_tools = spec.get("mcp")
    if mcp_tools:
        from openseeker.serve.mcp_server import TOOL_SETS

        if mcp_tools not in TOOL_SETS:
            raise UserError(f"--mcp must be one of {', '.join(TOOL_SETS)}; got {mcp_tools!r}")
    if spec.get("code_exec") and not spec.get("token"):
        raise UserError("--code-exec is served only behind a bearer token: add --token")
    sessions = code_exec_sessions(bool(spec.get("code_exec")), config)
    the_web = connect_web(
        spec["web"], config=live_config_from_flags(spec["web"], web_config, config), retrieval=spec.get("retrieval")
    )
    max_body = int(spec.get("max_body") or DEFAULT_MAX_BODY)
    mcp_app = None
    if mcp_tools:
        from openseeker.serve.mcp_server import build_mcp_server, mcp_http_app

        options: dict[str, Any] = {"extractor": extractor} if mcp_tools == "openseeker" else {}
        options["code_exec"] = sessions
        mcp_app = mcp_http_app(
            build_mcp_server(the_web, tools=mcp_tools, **options),
            host=spec.get("host") or "127.0.0.1",
            max_body_bytes=max_body,
        )
    closed = False

    async def aclose() -> None:
        nonlocal closed
        if not closed:
            closed = True
            await the_web.aclose()

    def close() -> None:  # after the server's loop ended, or for an app used without its lifespan (tests)
        if not closed:
            asyncio.run(aclose())

    @asynccontextmanager
    async def lifespan(_app):
        async with AsyncExitStack() as stack:
            if mcp_app is not None:  # the streamable-HTTP session manager runs for the server's lifetime
                await stack.enter_async_context(mcp_app.streamable.router.lifespan_context(mcp_app.streamable))
            yield
        if sessions is not None:
            await sessions.close()
        if extractor is not None:
            await extractor.aclose()
        await aclose()

    app_obj = create_app(
        the_web,
        token=spec.get("token"),
        extractor=extractor,
        max_body_bytes=max_body,
        lifespan=lifespan,
        mcp_app=mcp_app,
        code_exec=sessions,
    )
    app_obj.fastapi.state.openseeker["close"] = close
    return app_obj


def app_factory() -> Any:
    """uvicorn ``--factory`` target used by ``serve --workers N``: the app from ``$OPENSEEKER_SERVE_SPEC``."""
    return build_app_from_spec(json.loads(os.environ[SPEC_ENV]))


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("serve", epilog=SERVE_EPILOG)
def serve(
    web: WebOpt,
    web_config: WebConfigOpt = None,
    config: ConfigOpt = None,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    token: TokenOpt = None,
    max_body: MaxBodyOpt = 8 * 1024 * 1024,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes (uvicorn workers), each with its own web handle; 1 = in-process.",
        ),
    ] = 1,
    extract: ExtractOpt = False,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    mcp: Annotated[
        str | None,
        typer.Option(
            "--mcp",
            help="Also serve MCP on the same port (streamable HTTP "
            "at /mcp, SSE at /sse) with this tool set: openseeker | "
            "browsecomp-plus (default k and snippets; `openseeker mcp` has "
            "every option). Needs --workers 1.",
        ),
    ] = None,
    retrieval: RetrievalOpt = None,
    code_exec: CodeExecOpt = False,
) -> None:
    """Serve a web over HTTP: /search and /visit (our tool formats), /retrieve (Search-R1), /health."""
    import uvicorn

    from openseeker.serve.http import nodelay_h11_protocol, run_uvicorn

    spec = {
        "web": web,
        "web_config": str(web_config) if web_config else None,
        "config": str(config) if config else None,
        "token": token,
        "max_body": max_body,
        "extract": extract,
        "llm": llm,
        "base_url": base_url,
        "model": model,
        "mcp": mcp,
        "host": host,
        "retrieval": retrieval,
        "code_exec": code_exec,
    }
    if code_exec and workers > 1:
        raise UserError("--code-exec needs --workers 1: a session's sandbox lives in one server process")
    if mcp and workers > 1:
        raise UserError("--mcp needs --workers 1: an MCP session lives in one server process")
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        log.warning("serving on %s without --token: anyone who can reach it can use the web tools", host)
    level = "info" if os.environ.get("OPENSEEKER_DEBUG") else "warning"
    app_obj = build_app_from_spec(spec)  # opens the web: bad flags/configs fail here, before any worker starts

    def listening(bound_port: int) -> None:
        typer.echo(
            f"serving {web} on http://{host}:{bound_port} (/search /visit /retrieve /health"
            f"{' /code_exec' if code_exec else ''}"
            f"{f'; MCP ({mcp}) at /mcp and /sse' if mcp else ''})"
            f"{' with bearer token' if token else ''}{f', {workers} workers' if workers > 1 else ''}",
            err=True,
        )

    if workers == 1:
        server_config = uvicorn.Config(
            app_obj,
            host=host,
            port=port,
            log_level=level,
            lifespan="on",
            timeout_keep_alive=30,
            http=nodelay_h11_protocol(),
        )
        run_uvicorn(server_config, listening)
        app_obj.fastapi.state.openseeker["close"]()
        return
    app_obj.fastapi.state.openseeker["close"]()
    os.environ[SPEC_ENV] = json.dumps(spec)
    listening(port)  # uvicorn.run binds the socket in this process right away; the workers then accept on it
    uvicorn.run(
        "openseeker.serve.cli:app_factory",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=level,
        lifespan="on",
        timeout_keep_alive=30,
        http="openseeker.serve.http:NoDelayH11Protocol",
    )


@app.command("mcp", epilog=MCP_EPILOG)
def mcp(
    web: WebOpt,
    transport: Annotated[
        str,
        typer.Option(
            "--transport",
            help="stdio | http: both HTTP transports on one port "
            "(streamable HTTP at /mcp, SSE at /sse and GET /mcp); 'sse' and "
            "'streamable-http' are accepted as names for http.",
        ),
    ] = "stdio",
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="openseeker: search(query, top_k) + visit(url, goal), "
            "the agent's tools | browsecomp-plus: search(query) -> [{docid, score, "
            "snippet}] + get_document(docid) -> {docid, text}.",
        ),
    ] = "openseeker",
    k: Annotated[int, typer.Option("--k", help="browsecomp-plus: hits per search, fixed by the server.")] = 5,
    snippet_max_tokens: Annotated[
        int,
        typer.Option(
            "--snippet-max-tokens", help="browsecomp-plus: snippet = the document's first N tokens; -1 = whole text."
        ),
    ] = 512,
    snippet_tokenizer: Annotated[
        str | None,
        typer.Option(
            "--snippet-tokenizer",
            help="browsecomp-plus: Hugging Face tokenizer (directory or cached name; "
            "theirs: Qwen/Qwen3-0.6B) for the snippet; default: 4 characters per token, offline.",
        ),
    ] = None,
    get_document: Annotated[
        bool, typer.Option("--get-document/--no-get-document", help="browsecomp-plus: register get_document.")
    ] = True,
    web_config: WebConfigOpt = None,
    config: ConfigOpt = None,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port for the HTTP transports.")] = 8765,
    token: TokenOpt = None,
    max_body: MaxBodyOpt = 8 * 1024 * 1024,
    extract: ExtractOpt = False,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    retrieval: RetrievalOpt = None,
    code_exec: CodeExecOpt = False,
) -> None:
    """Serve the web's tools over MCP (official SDK; stdio, streamable HTTP and SSE)."""
    from openseeker.serve.mcp_server import HTTP_TRANSPORTS, TOOL_SETS, Snippeter, run_mcp

    if transport not in ("stdio", *HTTP_TRANSPORTS):
        raise UserError(f"--transport must be one of stdio, {', '.join(HTTP_TRANSPORTS)}; got {transport!r}")
    if tools not in TOOL_SETS:
        raise UserError(f"--tools must be one of {', '.join(TOOL_SETS)}; got {tools!r}")
    if tools == "browsecomp-plus" and extract:
        raise UserError("--extract applies to the openseeker tools' visit; browsecomp-plus has get_document")
    options: dict[str, Any] = {"tools": tools}
    if tools == "browsecomp-plus":
        options.update(
            k=k,
            get_document=get_document,
            snippet=Snippeter(max_tokens=snippet_max_tokens, tokenizer=snippet_tokenizer),
        )
    else:
        options["extractor"] = _extractor(extract, llm, base_url, model, config)
    if code_exec and transport != "stdio" and not token:
        raise UserError("--code-exec is served over HTTP only behind a bearer token: add --token")
    options["code_exec"] = code_exec_sessions(code_exec, config)
    the_web = connect_web(web, config=live_config_from_flags(web, web_config, config), retrieval=retrieval)

    def listening(bound_port: int) -> None:  # HTTP only: stdout belongs to the protocol under stdio
        typer.echo(
            f"MCP ({tools} tools) on http://{host}:{bound_port}: streamable HTTP at /mcp, SSE at /sse "
            f"(and GET /mcp){' with bearer token' if token else ''}",
            err=True,
        )

    try:
        run_mcp(
            the_web,
            transport=transport,
            host=host,
            port=port,
            token=token,
            max_body_bytes=max_body,
            on_listening=listening,
            **options,
        )
    finally:
        asyncio.run(the_web.aclose())  # the server's loop has ended: close in a loop of our own
        if options["code_exec"] is not None:
            asyncio.run(options["code_exec"].close())
