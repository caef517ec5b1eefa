"""MCP server over any ``Web`` (official ``mcp`` SDK): stdio, streamable HTTP and SSE, with an optional bearer token.

Two tool sets:

- ``openseeker`` (default): ``search(query, top_k)`` and ``visit(url, goal)``, the agent's own tools with their
  descriptions and the exact text the agent sees.
- ``browsecomp-plus``: the tools of BrowseComp-Plus's MCP server (``searcher/mcp_server.py`` + ``searcher/tools.py``
  in texttron/BrowseComp-Plus), so their agent clients run unchanged: ``search(query)`` -> a JSON list of
  ``{docid, score, snippet}`` with ``k`` fixed by the server (default 5) and the snippet = the first N tokens of the
  document (default 512; their tokenizer is Qwen3's, ours is configurable with a character-based offline default);
  ``get_document(docid)`` -> ``{docid, text}``.

Tool-level errors (too many queries, a query over the length limit, ``top_k`` outside 1-50, too many urls, a
failing search backend, an unknown docid) come back as ``isError: true`` with a message.

Over HTTP one port serves both transports: streamable HTTP at ``/mcp``, SSE at ``/sse`` (messages at
``/messages/``), and a ``GET /mcp`` that opens no streamable session is answered as SSE, because BrowseComp-Plus's
server (FastMCP ``run(transport="sse", path="/mcp")``) puts SSE at ``/mcp`` and its clients (and verl's MCP client
with a token, which always uses SSE) are pointed at that URL.

Written against mcp 2.x (``mcp.server.mcpserver.MCPServer``) with a fallback to mcp 1.x (``FastMCP``).

Example (Claude Desktop / any MCP client, stdio)::

    {"command": "openseeker", "args": ["mcp", "--web", "webs/wiki"]}
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from openseeker.errors import ToolError as WebToolError
from openseeker.errors import UserError
from openseeker.sandbox.sessions import SandboxSessions
from openseeker.sandbox.tool import CODE_EXEC_SCHEMA
from openseeker.serve.backend import TRANSIENT, classify
from openseeker.serve.limits import (
    DEFAULT_MAX_BODY,
    SEARCH_MAX_QUERIES,
    SEARCH_MAX_QUERY_CHARS,
    SEARCH_TOP_K,
    VISIT_MAX_URLS,
    TopK,
    check_queries,
    surrogate_problem,
)
from openseeker.web.base import RETRIEVAL_HELP, Web, ensure_retrieval, search_with
from openseeker.web.format import format_search
from openseeker.web.tools import Extractor, SearchTool, VisitTool

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Deep-search tools. `search` takes one or more queries and returns the top results (title, url, "
    "snippet) per query; `visit` opens urls and returns the information relevant to a goal."
)
BCP_INSTRUCTIONS = (
    "Search a fixed document collection: `search` returns docids with snippets; `get_document` "
    "returns a document's full text."
)
TOOL_SETS = ("openseeker", "browsecomp-plus")
CMD_HELP = CODE_EXEC_SCHEMA["function"]["parameters"]["properties"]["cmd"]["description"]
HTTP_TRANSPORTS = ("http", "sse", "streamable-http")  # one app serves both; the names are BrowseComp-Plus's


def _server_class():
    try:
        from mcp.server.mcpserver import MCPServer

        return MCPServer
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP

        return FastMCP


def _tool_error_class():
    """The SDK's ``ToolError``: raised from a tool, the call answers ``isError: true`` with the message."""
    try:
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp.exceptions import ToolError
    return ToolError


def _param_description(tool: type, name: str) -> str:
    return tool.schema["function"]["parameters"]["properties"][name]["description"]


def _add_tool(server: Any, fn, name: str, description: str) -> None:
    try:  # plain text content only (no duplicate structured copy of the same string)
        server.add_tool(fn, name=name, description=description, structured_output=False)
    except TypeError:  # older SDKs without structured output
        server.add_tool(fn, name=name, description=description)


# --------------------------------------------------------------------------- snippets (BrowseComp-Plus)


@dataclass
class Snippeter:
    """The first ``max_tokens`` tokens of a document, as BrowseComp-Plus's ``search`` shows it.

    ``tokenizer``: a Hugging Face tokenizer name or directory (their setting: ``Qwen/Qwen3-0.6B``), loaded with
    ``transformers`` from local files; tokens are encoded without special tokens and decoded skipping them, as
    theirs. Without one (the offline default) a token counts as ``chars_per_token`` characters and the cut falls
    on a word boundary. ``max_tokens <= 0`` returns the whole text (their ``--snippet-max-tokens -1``).
    """

    max_tokens: int = 512
    tokenizer: str | None = None
    chars_per_token: int = 4

    def __post_init__(self) -> None:
        self._tok = None
        if self.tokenizer and self.max_tokens > 0:
            try:
                from transformers import AutoTokenizer
            except ImportError:
                raise UserError(
                    "--snippet-tokenizer needs the transformers package (pip install 'openseeker[train]')"
                ) from None
            try:
                self._tok = AutoTokenizer.from_pretrained(self.tokenizer, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise UserError(
                    f"cannot load the snippet tokenizer {self.tokenizer!r} (a local directory, or a "
                    f"name already in the Hugging Face cache): {exc}"
                ) from None

    def __call__(self, text: str) -> str:
        if self.max_tokens <= 0:
            return text
        if self._tok is not None:
            tokens = self._tok.encode(text, add_special_tokens=False)
            if len(tokens) <= self.max_tokens:
                return text
            return self._tok.decode(tokens[: self.max_tokens], skip_special_tokens=True)
        limit = self.max_tokens * self.chars_per_token
        if len(text) <= limit:
            return text
        cut = text[:limit]
        space = cut.rfind(" ")
        return cut[:space] if space > limit * 0.8 else cut


# --------------------------------------------------------------------------- tool sets


def _add_openseeker_tools(server: Any, web: Web, *, extractor: Extractor | None, top_k: int, max_chars: int) -> None:
    ToolError = _tool_error_class()
    visit_tool = VisitTool(web, extractor=extractor, max_chars=max_chars)

    async def search(
        query: Annotated[
            list[str] | str,
            Field(
                description=_param_description(SearchTool, "query") + f" At most {SEARCH_MAX_QUERIES}, each at most "
                f"{SEARCH_MAX_QUERY_CHARS} characters."
            ),
        ],
        top_k: TopK = top_k,
        retrieval: Annotated[Literal["bm25", "dense", "hybrid"] | None, Field(description=RETRIEVAL_HELP)] = None,
    ) -> str:
        try:
            queries = check_queries(query, max_queries=SEARCH_MAX_QUERIES, max_chars=SEARCH_MAX_QUERY_CHARS)
        except ValueError as exc:
            raise ToolError(f"[search] {exc}") from None
        try:
            await ensure_retrieval(web, retrieval)
        except UserError as exc:  # no dense index, or a web that ranks with its own engine
            raise ToolError(f"[search] {exc}") from None
        try:
            results = await search_with(web, queries, top_k, retrieval)
        except Exception as exc:  # noqa: BLE001 - reported to the caller as a tool error
            failure = classify(exc)
            raise ToolError(
                f"[search] search backend failed ({failure.kind}"
                f"{'; retry later' if failure.kind == TRANSIENT else ''}): {failure.message}"
            ) from None
        return format_search(queries, results)

    async def visit(
        url: Annotated[
            list[str] | str, Field(description=_param_description(VisitTool, "url") + f" At most {VISIT_MAX_URLS}.")
        ],
        goal: Annotated[str, Field(description=_param_description(VisitTool, "goal"))],
    ) -> str:
        urls = [url] if isinstance(url, str) else list(url)
        if len(urls) > VISIT_MAX_URLS:
            raise ToolError(f"[visit] {len(urls)} urls given; at most {VISIT_MAX_URLS} per call")
        if not any(u.strip() for u in urls):
            raise ToolError("[visit] no url given")
        for i, text in enumerate([*urls, goal]):
            problem = surrogate_problem(text)
            if problem:
                raise ToolError(f"[visit] {'goal' if i == len(urls) else f'url {i}'} {problem}")
        return await visit_tool.execute({"url": urls, "goal": goal})

    for fn, tool in ((search, SearchTool), (visit, VisitTool)):
        _add_tool(server, fn, tool.name, tool.schema["function"]["description"])


def _add_browsecomp_plus_tools(server: Any, web: Web, *, k: int, snippet: Snippeter, get_document: bool) -> None:
    ToolError = _tool_error_class()
    live = getattr(web, "name", "") == "live"

    async def full_text(hit) -> str:
        if live:  # a live web would fetch k pages per search: show the engine's snippet instead
            return hit.snippet
        try:
            page = await web.fetch(hit.docid or hit.url)
        except WebToolError:
            page = None
        return page.text if page is not None else hit.snippet

    async def search(query: Annotated[str, Field(description="Search query string.")]) -> str:
        try:
            (q,) = check_queries(query, max_queries=1, max_chars=SEARCH_MAX_QUERY_CHARS)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        try:
            (hits,) = await web.search([q], k)
        except Exception as exc:  # noqa: BLE001
            failure = classify(exc)
            raise ToolError(f"search backend failed ({failure.kind}): {failure.message}") from None
        texts = await asyncio.gather(*(full_text(h) for h in hits))
        out = [{"docid": h.docid or h.url, "score": h.score, "snippet": snippet(t)} for h, t in zip(hits, texts)]
        return json.dumps(out, ensure_ascii=False, indent=2)

    async def get_document_fn(
        docid: Annotated[str, Field(description="Document ID to retrieve (a docid from search results).")],
    ) -> str:
        problem = surrogate_problem(docid)
        if problem:
            raise ToolError(f"docid {problem}")
        try:
            page = await web.fetch(docid)
        except WebToolError as exc:
            raise ToolError(f"cannot open {docid!r}: {exc}") from None
        if page is None:
            raise ToolError(f"no document with docid {docid!r}; use a docid from search results")
        return json.dumps({"docid": docid, "text": page.text}, ensure_ascii=False, indent=2)

    # Their descriptions (searcher/searchers/base.py): the model reads them, so a comparable run needs the same.
    _add_tool(
        server,
        search,
        "search",
        f"Perform a search on a knowledge source. Returns top-{k} hits with docid, "
        "score, and snippet. The snippet contains the document's contents (may be truncated based on token "
        "limits).",
    )
    if get_document:
        _add_tool(server, get_document_fn, "get_document", "Retrieve a full document by its docid.")


def _add_code_exec_tool(server: Any, sessions: SandboxSessions) -> None:
    """``code_exec(cmd)``: the agent's code tool; every call of this server process shares one sandbox (stdio: the
    client that started it)."""

    async def code_exec(cmd: Annotated[str, Field(description=CMD_HELP)]) -> str:
        return await sessions.run("mcp", cmd)

    _add_tool(server, code_exec, CODE_EXEC_SCHEMA["function"]["name"], CODE_EXEC_SCHEMA["function"]["description"])


def build_mcp_server(
    web: Web,
    *,
    tools: str = "openseeker",
    extractor: Extractor | None = None,
    top_k: int = SEARCH_TOP_K,
    max_chars: int = 20_000,
    k: int = 5,
    snippet: Snippeter | None = None,
    get_document: bool = True,
    name: str | None = None,
    code_exec: SandboxSessions | None = None,
) -> Any:
    """An MCP server with the ``tools`` set over ``web`` (``openseeker``: search + visit, the text the agent sees;
    ``browsecomp-plus``: their search + get_document with ``k`` hits and ``snippet`` truncation)."""
    if tools == "openseeker":
        server = _server_class()(name=name or "openseeker", instructions=INSTRUCTIONS)
        _add_openseeker_tools(server, web, extractor=extractor, top_k=top_k, max_chars=max_chars)
    elif tools == "browsecomp-plus":
        if not 1 <= k <= 50:
            raise UserError(f"--k must be from 1 to 50, got {k}")
        server = _server_class()(name=name or "search-server", instructions=BCP_INSTRUCTIONS)
        _add_browsecomp_plus_tools(server, web, k=k, snippet=snippet or Snippeter(), get_document=get_document)
    else:
        raise UserError(f"--tools must be one of {', '.join(TOOL_SETS)}, got {tools!r}")
    if code_exec is not None:
        _add_code_exec_tool(server, code_exec)
    return server


# --------------------------------------------------------------------------- HTTP transports


class _BothTransports:
    """One ASGI app: streamable HTTP at ``path``; SSE at ``sse_path`` + ``message_path``; ``GET path`` without an
    ``mcp-session-id`` header is an SSE connect (where BrowseComp-Plus and verl point their SSE clients)."""

    def __init__(self, streamable, sse, path: str, sse_path: str, message_path: str):
        self.streamable, self.sse = streamable, sse
        self.path, self.sse_path, self.message_path = path, sse_path, message_path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            p = scope.get("path", "")
            if p.rstrip("/") == self.sse_path.rstrip("/") and p != self.sse_path:  # fastmcp asks for "/sse/"
                scope = dict(scope, path=self.sse_path, raw_path=self.sse_path.encode())
                p = self.sse_path
            if p == self.sse_path or p.startswith(self.message_path):
                return await self.sse(scope, receive, send)
            if (
                p.rstrip("/") == self.path
                and scope.get("method") == "GET"
                and not any(k == b"mcp-session-id" for k, _ in scope.get("headers", []))
            ):
                return await self.sse(dict(scope, path=self.sse_path, raw_path=self.sse_path.encode()), receive, send)
        return await self.streamable(scope, receive, send)  # incl. lifespan: runs the session manager


def mcp_http_app(
    server: Any,
    *,
    host: str = "127.0.0.1",
    path: str = "/mcp",
    sse_path: str = "/sse",
    message_path: str = "/messages/",
    max_body_bytes: int = DEFAULT_MAX_BODY,
) -> Any:
    """Streamable HTTP (``path``) and SSE (``sse_path``, and ``GET path``) for ``server`` on one ASGI app."""
    try:
        streamable = server.streamable_http_app(
            streamable_http_path=path, host=host, max_request_body_size=max_body_bytes
        )
        sse = server.sse_app(
            sse_path=sse_path, message_path=message_path, host=host, max_request_body_size=max_body_bytes
        )
    except TypeError:  # mcp 1.x: configured through settings
        server.settings.streamable_http_path = path
        server.settings.sse_path, server.settings.message_path = sse_path, message_path
        streamable, sse = server.streamable_http_app(), server.sse_app()
    return _BothTransports(streamable, sse, path.rstrip("/"), sse_path, message_path)


def mcp_asgi_app(
    server: Any, *, host: str = "127.0.0.1", token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY
) -> Any:
    """``mcp_http_app`` behind the same body limit and optional bearer token as ``openseeker serve``."""
    from openseeker.serve.http import BearerAuth, BodyLimit

    app: Any = BodyLimit(mcp_http_app(server, host=host, max_body_bytes=max_body_bytes), max_body_bytes)
    if token:
        app = BearerAuth(app, token, open_paths=())
    return app


def run_mcp(
    web: Web,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    on_listening: Callable[[int], None] | None = None,
    **server_options: Any,
) -> None:
    """Run the MCP server (blocking): ``stdio``, or ``http`` (= ``sse`` = ``streamable-http``: both transports on
    ``http://host:port``, streamable at ``/mcp``, SSE at ``/sse`` and ``GET /mcp``; ``on_listening(port)`` is
    called once the port accepts connections)."""
    if server_options.get("code_exec") is not None and transport != "stdio" and not token:
        raise UserError("code_exec is served over HTTP only behind a bearer token: add --token")
    server = build_mcp_server(web, **server_options)
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    from openseeker.serve.http import run_uvicorn

    app = mcp_asgi_app(server, host=host, token=token, max_body_bytes=max_body_bytes)
    run_uvicorn(uvicorn.Config(app, host=host, port=port, log_level="warning"), on_listening)
