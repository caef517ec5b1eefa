"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (real HTTP, for tests and benchmarks).

Example:
    >>> with ScriptedChatServer([Reply(content="<answer>Paris</answer>")]) as srv:   # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=srv.base_url, api_key="x")
    ...     client.chat.completions.create(model="m", messages=[...])

Replies are consumed in order; when the script runs out the ``default`` reply (or a function) answers.
A function ``fn(request_json) -> Reply`` can be given instead of a list to answer by content (e.g. route by role
or by the system prompt). Every request body is kept in ``requests`` for assertions.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted response.

    Args:
        content: assistant text.
        tool_calls: native tool calls as ``[{"name": ..., "arguments": {...} or "raw string"}]``.
        status: HTTP status; non-200 sends an OpenAI-style error body (or ``body`` if given).
        body: raw response body, sent verbatim (to test malformed JSON from the server).
        delay: seconds to sleep before answering (timeouts, latency benchmarks).
        finish_reason: as returned in the choice.
        reasoning: ``reasoning_content`` field, for servers that separate reasoning.
        prompt_tokens, completion_tokens: usage to report (defaults: rough word counts).
        headers: extra response headers (e.g. ``Retry-After``).
    """

    content: str | None = ""
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    body: str | None = None
    delay: float = 0.0
    finish_reason: str | None = None
    reasoning: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[dict[str, Any]], Reply]


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 1024  # socketserver's default backlog of 5 drops bursts of concurrent connections


class ScriptedChatServer:
    """Serve ``/v1/chat/completions`` and ``/v1/models`` from a script, in a background thread."""

    def __init__(
        self,
        script: Iterable[Reply] | Responder | None = None,
        *,
        default: Reply | Responder | None = None,
        model: str = "scripted-model",
        host: str = "127.0.0.1",
    ):
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._fn: Responder | None = script if callable(script) else None
        self._queue: deque[Reply] = deque([] if script is None or callable(script) else list(script))
        self._default = default if default is not None else Reply(content="")
        self._httpd = _HTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedChatServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    # -- answering
    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self._fn is not None:
            return self._fn(request)
        return self._default(request) if callable(self._default) else self._default

    def _completion_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tc.get("id") or f"call_{uuid.uuid4().hex[:8]}",
                    "type": "function",
                    "function": {
                        "name": tc["name"],
                        "arguments": tc["arguments"]
                        if isinstance(tc.get("arguments"), str)
                        else json.dumps(tc.get("arguments", {})),
                    },
                }
                for tc in reply.tool_calls
            ]
        prompt_words = sum(len(str(m.get("content") or "").split()) for m in request.get("messages", []))
        completion_words = len((reply.content or "").split())
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens if reply.prompt_tokens is not None else prompt_words,
                "completion_tokens": reply.completion_tokens
                if reply.completion_tokens is not None
                else completion_words,
                "total_tokens": 0,
            },
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": server.model, "object": "model"}]}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                    return
                try:
                    request = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, json.dumps({"error": {"message": "bad json"}}))
                    return
                reply = server._next_reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.body is not None:
                    self._send(reply.status, reply.body, reply.headers)
                elif reply.status != 200:
                    err = {
                        "error": {
                            "message": f"scripted error {reply.status}",
                            "type": "server_error",
                            "code": reply.status,
                        }
                    }
                    self._send(reply.status, json.dumps(err), reply.headers)
                else:
                    self._send(200, json.dumps(server._completion_body(reply, request)), reply.headers)

        return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m openseeker.testing.chat_server --delay 0.05``: a replica for failover tests and benchmarks, in
    its own process (so it can be SIGKILLed). Answers search -> answer (``--searches`` tool calls per rollout);
    prints its base URL on the first line of stdout, then serves until killed."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--searches", type=int, default=1)
    args = ap.parse_args(argv)

    def respond(req: dict[str, Any]) -> Reply:
        tool_turns = sum(1 for m in req.get("messages", []) if m.get("role") in ("tool", "user")) - 1
        if tool_turns < args.searches:
            return Reply(
                content='<tool_call>{"name": "search", "arguments": {"query": ["Eiffel"]}}</tool_call>',
                delay=args.delay,
            )
        return Reply(content="<answer>Dijon</answer>", delay=args.delay)

    srv = ScriptedChatServer(respond).start()
    print(srv.base_url, flush=True)
    srv.requests = _Counter()
    threading.Event().wait()


class _Counter(list):
    """Keeps no request bodies (a long-running replica would grow without bound), only their number."""

    def append(self, item: Any) -> None:
        self.n = getattr(self, "n", 0) + 1


if __name__ == "__main__":
    main()
