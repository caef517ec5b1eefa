"""The live viewer: a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 serving the page and a small JSON API.

API (all ``GET``, JSON; errors are ``{"error": ...}`` with 400/404, never a 500 with a traceback):

    /api/manifest                         the datasets found, what was skipped, the eval runs to compare
    /api/summary?ds=ID                    counts, facets, yield funnel, eval report + histograms
    /api/rows?ds=ID&offset=&limit=&q=&f.FACET=VALUE   one page of list rows, filtered and searched server-side
    /api/item?ds=ID&i=N                   record N, shaped for display (read from disk by line offset)
    /api/find?ds=ID&id=RECORD_ID          the record number of an id (or an eval key ``id#run``)
    /api/compare?a=ID&b=ID                two eval runs side by side (flipped questions)

Only loopback addresses are accepted for binding, and requests must name a loopback host (``Host`` header: a
web page elsewhere cannot reach the viewer through DNS rebinding): the viewer shows research data and has no
authentication.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openseeker.errors import OpenSeekerError, UserError
from openseeker.view.data import Catalog

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def static_dir() -> Any:
    return resources.files("openseeker.view") / "static"


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"{name} must be an integer, got {raw!r}") from None


def api(catalog: Catalog, route: str, params: dict[str, str]) -> Any:
    """One API call (shared by the server and the tests)."""
    if route == "manifest":
        return catalog.manifest()
    if route == "compare":
        return catalog.compare(params.get("a", ""), params.get("b", ""))
    ds = catalog.get(params.get("ds", ""))
    if route == "summary":
        return ds.summary()
    if route == "rows":
        filters = {k[2:]: v for k, v in params.items() if k.startswith("f.")}
        return ds.rows(
            offset=_int(params, "offset", 0), limit=_int(params, "limit", 50), q=params.get("q", ""), filters=filters
        )
    if route == "item":
        return ds.item(_int(params, "i", 0))
    if route == "find":
        return {"i": ds.find(params.get("id", ""))}
    raise LookupError(f"no API route {route!r}")


class _Handler(BaseHTTPRequestHandler):
    catalog: Catalog
    server_version = "openseeker-view"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: one debug line per request
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(
            status, json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8"), "application/json; charset=utf-8"
        )

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in LOOPBACK:  # a page elsewhere reaching us through DNS rebinding gets nothing
            self._json(403, {"error": f"unexpected Host header {host!r}: open the viewer at 127.0.0.1"})
            return
        try:
            if url.path.startswith("/api/"):
                params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                self._json(200, api(self.catalog, url.path[5:], params))
                return
            self._static(url.path)
        except LookupError as exc:
            self._json(404, {"error": str(exc).strip("'\"")})
        except OpenSeekerError as exc:
            self._json(400, {"error": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:
            log.exception("view: %s failed", self.path)
            self._json(400, {"error": f"{type(exc).__name__}: {exc}"})

    def _static(self, path: str) -> None:
        name = "index.html" if path in ("/", "/index.html") else path.lstrip("/")
        name = name.removeprefix("static/")
        if ".." in name.split("/"):
            raise LookupError(path)
        f = static_dir().joinpath(*name.split("/"))
        if not f.is_file():
            raise LookupError(f"no such page {path}")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(200, f.read_bytes(), ctype)


class ViewServer:
    """The viewer's HTTP server. ``start()`` serves in a thread (tests); ``serve_forever()`` blocks (the CLI)."""

    def __init__(self, catalog: Catalog, host: str = "127.0.0.1", port: int = 8765):
        if host not in LOOPBACK:
            raise UserError(f"--host {host}: the viewer binds loopback only (127.0.0.1); it has no authentication")
        handler = type("Handler", (_Handler,), {"catalog": catalog})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --port 0 for any free one"
            ) from None
        self.httpd.daemon_threads = True
        self.catalog = catalog
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> ViewServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="openseeker-view", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        # shutdown() waits for serve_forever to say it has stopped: only a thread started by start() can still be
        # serving. From the CLI, serve_forever has already returned (Ctrl-C), and if the interrupt landed before
        # its loop began, shutdown() would wait forever.
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()
        self.catalog.close()

    def __enter__(self) -> ViewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
