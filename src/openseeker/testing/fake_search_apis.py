"""Fake search APIs and a fake website on 127.0.0.1 (real HTTP), for live-web tests and benchmarks.

``FakeSearchAPI(kind)`` answers like Serper (``POST /search``, ``X-API-KEY``), Tavily (``POST /search``, bearer or
``api_key``) or SearXNG (``GET /search?format=json``) with that API's documented response shape, from a small
corpus; scripted ``Fault``\\ s make it answer 401 / 429 / 500 / malformed JSON instead. ``FakeSite`` serves routes
(HTML pages, redirects, big or slow bodies, binary files) for the ``visit`` path.

Example:
    >>> with FakeSearchAPI("serper", key="k") as api:                            # doctest: +SKIP
    ...     web = LiveWeb.from_config({"backend": "serper", "serper": {"base_url": api.base_url}})
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_CORPUS: list[dict[str, str]] = [
    {
        "title": "Paris - Wikipedia",
        "url": "https://en.wikipedia.org/wiki/Paris",
        "snippet": "Paris is the capital and largest city of France.",
        "date": "Mar 3, 2024",
    },
    {
        "title": "France - Wikipedia",
        "url": "https://en.wikipedia.org/wiki/France",
        "snippet": "France is a country in Western Europe; its capital is Paris.",
    },
    {
        "title": "Eiffel Tower",
        "url": "https://www.toureiffel.paris/en",
        "snippet": "The Eiffel Tower is a wrought-iron lattice tower in Paris.",
        "date": "2023-05-01",
    },
    {
        "title": "北京 - 维基百科",
        "url": "https://zh.wikipedia.org/wiki/北京",
        "snippet": "北京是中华人民共和国的首都。",
    },
]


@dataclass
class Fault:
    """One scripted failure: ``status`` with the API's error body, or a raw ``body`` (e.g. malformed JSON)."""

    status: int = 500
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


_ERROR_BODIES = {
    "serper": lambda status, msg: {"message": msg, "statusCode": status},
    "tavily": lambda status, msg: {"detail": {"error": msg}},
    "searxng": lambda status, msg: {"error": msg},
}
_MESSAGES = {
    401: "Unauthorized.",
    403: "Forbidden.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
}


def _matches(query: str, doc: dict[str, str]) -> bool:
    words = [w for w in query.lower().split() if w]
    hay = f"{doc['title']} {doc['snippet']}".lower()
    return any(w in hay for w in words) or any(ch in hay for ch in query if ord(ch) > 0x2E80)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (timeouts, aborted downloads) are expected in tests: no tracebacks for those."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:0 in a daemon thread, as a context manager."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.scheme = "http"
        if tls is not None:  # (certfile, keyfile): serve https
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server.handle(self, "GET")

            def do_POST(self) -> None:
                server.handle(self, "POST")

        return Handler


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes | str,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    try:
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


class FakeSearchAPI(_Server):
    """A search API of ``kind`` serper | tavily | searxng on 127.0.0.1.

    Args:
        kind: which API to imitate.
        key: the API key it accepts (``None`` = no auth check; SearXNG never checks).
        corpus: documents ``{title, url, snippet, date?}`` matched by any query word.
        faults: scripted failures consumed one per request before normal answers resume.
        delay: seconds to sleep before every answer.
    """

    def __init__(
        self,
        kind: str,
        *,
        key: str | None = "test-key",
        corpus: list[dict[str, str]] | None = None,
        faults: Iterable[Fault] = (),
        delay: float = 0.0,
    ):
        if kind not in _ERROR_BODIES:
            raise ValueError(f"unknown fake API kind {kind!r}")
        self.kind, self.key, self.delay = kind, key, delay
        self.corpus = list(corpus if corpus is not None else DEFAULT_CORPUS)
        self.faults: deque[Fault] = deque(faults)
        super().__init__()

    def push(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _error(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        msg: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = _ERROR_BODIES[self.kind](status, msg or _MESSAGES.get(status, "error"))
        send(handler, status, json.dumps(body), headers=headers)

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        record = {
            "method": method,
            "path": parts.path,
            "params": params,
            "json": body,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
        }
        with self._lock:
            self.requests.append(record)
            fault = self.faults.popleft() if self.faults else None
        if self.delay:
            time.sleep(self.delay)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.body is not None:
                send(handler, fault.status, fault.body, headers=fault.headers)
            else:
                self._error(handler, fault.status, headers=fault.headers)
            return
        if parts.path.rstrip("/") != "/search":
            self._error(handler, 404, "Not found")
            return
        getattr(self, f"_answer_{self.kind}")(handler, method, record)

    def _hits(self, query: str, n: int) -> list[dict[str, str]]:
        return [d for d in self.corpus if _matches(query, d)][:n]

    def _answer_serper(self, handler, method, record) -> None:
        if method != "POST":
            return self._error(handler, 405, "Method not allowed")
        if self.key is not None and record["headers"].get("x-api-key") != self.key:
            return self._error(handler, 401)
        body = record["json"]
        q, num = str(body.get("q", "")), int(body.get("num", 10))
        organic = []
        for i, d in enumerate(self._hits(q, num), 1):
            item = {"title": d["title"], "link": d["url"], "snippet": d["snippet"], "position": i}
            if d.get("date"):
                item["date"] = d["date"]
            organic.append(item)
        send(
            handler,
            200,
            json.dumps(
                {
                    "searchParameters": {
                        "q": q,
                        "gl": body.get("gl", "us"),
                        "hl": body.get("hl", "en"),
                        "type": "search",
                        "num": num,
                        "engine": "google",
                    },
                    "organic": organic,
                    "relatedSearches": [{"query": f"{q} history"}],
                    "credits": 1,
                },
                ensure_ascii=False,
            ),
        )

    def _answer_tavily(self, handler, method, record) -> None:
        if method != "POST":
            return self._error(handler, 405, "Method not allowed")
        body = record["json"]
        auth = record["headers"].get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else body.get("api_key")
        if self.key is not None and given != self.key:
            return self._error(handler, 401, "Unauthorized: missing or invalid API key.")
        q, n = str(body.get("query", "")), int(body.get("max_results", 5))
        results = []
        for i, d in enumerate(self._hits(q, n)):
            item = {
                "title": d["title"],
                "url": d["url"],
                "content": d["snippet"],
                "score": round(0.9 - 0.1 * i, 3),
                "raw_content": None,
            }
            if d.get("date"):
                item["published_date"] = d["date"]
            results.append(item)
        send(
            handler,
            200,
            json.dumps(
                {
                    "query": q,
                    "follow_up_questions": None,
                    "answer": None,
                    "images": [],
                    "results": results,
                    "response_time": 0.42,
                },
                ensure_ascii=False,
            ),
        )

    def _answer_searxng(self, handler, method, record) -> None:
        params = record["params"] if method == "GET" else record["json"]
        if params.get("format") != "json":
            return send(handler, 403, "<html><body>403 Forbidden</body></html>", content_type="text/html")
        q = str(params.get("q", ""))
        results = []
        for i, d in enumerate(self._hits(q, 20), 1):
            item = {
                "url": d["url"],
                "title": d["title"],
                "content": d["snippet"],
                "engine": "duckduckgo",
                "parsed_url": list(urlsplit(d["url"])[:5]) + [""],
                "template": "default.html",
                "engines": ["duckduckgo", "brave"],
                "positions": [i],
                "score": 2.0 / i,
                "category": "general",
            }
            if d.get("date"):
                item["publishedDate"] = d["date"]
            results.append(item)
        send(
            handler,
            200,
            json.dumps(
                {
                    "query": q,
                    "number_of_results": len(results),
                    "results": results,
                    "answers": [],
                    "corrections": [],
                    "infoboxes": [],
                    "suggestions": [],
                    "unresponsive_engines": [],
                },
                ensure_ascii=False,
            ),
        )


@dataclass
class Route:
    """A ``FakeSite`` answer. ``chunks``/``chunk_delay`` stream the body slowly (slow-drip pages)."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: int = 1
    chunk_delay: float = 0.0
    send_length: bool = True


class FakeSite(_Server):
    """A website on 127.0.0.1: ``routes`` maps a path to a ``Route`` or ``fn(path) -> Route``; 404 otherwise.
    ``tls=(certfile, keyfile)`` serves https."""

    def __init__(
        self, routes: dict[str, Route | Callable[[str], Route]] | None = None, *, tls: tuple[str, str] | None = None
    ):
        self.routes: dict[str, Route | Callable[[str], Route]] = dict(routes or {})
        super().__init__(tls=tls)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.requests.append({"method": method, "path": path})
        route = self.routes.get(path)
        if route is None:
            return send(handler, 404, "<html><body>not found</body></html>", content_type="text/html")
        if callable(route):
            route = route(path)
        if route.delay:
            time.sleep(route.delay)
        data = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        handler.send_response(route.status)
        handler.send_header("Content-Type", route.content_type)
        if route.send_length:
            handler.send_header("Content-Length", str(len(data)))
        else:
            handler.send_header("Connection", "close")
        for k, v in route.headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        try:
            n = max(1, route.chunks)
            step = max(1, -(-len(data) // n))
            for i in range(0, max(len(data), 1), step):
                handler.wfile.write(data[i : i + step])
                handler.wfile.flush()
                if route.chunk_delay:
                    time.sleep(route.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not route.send_length:
            handler.close_connection = True
