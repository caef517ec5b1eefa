"""Backend failures: transient vs permanent answers (checked against verl's retry rule) and /health."""

from __future__ import annotations

import pytest
from serve_helpers import call

from openseeker.errors import ToolError, UserError
from openseeker.serve.backend import BackendHealth, classify
from openseeker.serve.http import create_app
from openseeker.testing.fake_search_apis import FakeSearchAPI, Fault
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.live import LiveWeb
from openseeker.web.live.search_backends import BackendError

# verl/tools/utils/search_r1_like_utils.py `call_search_api`: these statuses are retried (10 attempts, 45 s of
# sleeps); any other error status fails the tool call at once.
VERL_RETRIES = {500, 502, 503, 504}


class Failing(FakeWeb):
    def __init__(self, exc: Exception):
        super().__init__(tiny_pages())
        self.exc, self.fail = exc, True

    async def search(self, queries, top_k=10):
        if self.fail:
            raise self.exc
        return await super().search(queries, top_k)


def live_web(api: FakeSearchAPI, monkeypatch, key: str = "test-key") -> LiveWeb:
    monkeypatch.setenv("SERPER_API_KEY", key)
    return LiveWeb.from_config(
        {
            "backend": "serper",
            "serper": {"base_url": api.base_url, "max_retries": 0, "rate_per_s": 0},
            "cache": {"path": None},
        }
    )


def test_bad_api_key_is_permanent_and_verl_would_not_retry_it(monkeypatch):
    with FakeSearchAPI("serper", key="right-key") as api:
        web = live_web(api, monkeypatch, key="wrong-key")
        app = create_app(web)
        r = call(app, "POST", "/retrieve", json={"queries": ["Paris"]})
        health = call(app, "GET", "/health")
        web.close()
    assert r.status_code == 424 and r.status_code not in VERL_RETRIES
    assert "rejected the API key" in r.json()["detail"]
    assert r.json()["error"] == {"kind": "permanent", "retryable": False}
    assert health.status_code == 503 and health.json()["status"] == "failing"  # one bad-key answer is enough
    assert health.json()["backend"]["last_error"]["kind"] == "permanent"


def test_upstream_outage_is_transient_with_retry_after(monkeypatch):
    with FakeSearchAPI("serper", faults=[Fault(500)] * 10) as api:
        web = live_web(api, monkeypatch)
        app = create_app(web)
        r = call(app, "POST", "/search", json={"query": "Paris"})
        web.close()
    assert r.status_code == 503 and r.status_code in VERL_RETRIES
    assert r.headers["retry-after"].isdigit() and r.json()["error"] == {"kind": "transient", "retryable": True}


def test_rate_limit_passes_its_retry_after_on(monkeypatch):
    with FakeSearchAPI("serper", faults=[Fault(429, headers={"Retry-After": "7"})]) as api:
        web = live_web(api, monkeypatch)
        r = call(create_app(web), "POST", "/search", json={"query": "Paris"})
        web.close()
    assert r.status_code == 503 and r.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    "exc,kind",
    [
        (BackendError("x", status=401), "permanent"),
        (BackendError("x", status=429, retryable=True), "transient"),
        (UserError("live web: backend needs a base_url"), "permanent"),
        (TimeoutError(), "transient"),
        (ConnectionResetError(), "transient"),
        (ToolError("search for 'q' failed (KeyError: 'x')"), "unexpected"),
        (RuntimeError("bug"), "unexpected"),
    ],
)
def test_classification(exc, kind):
    assert classify(exc).kind == kind
    wrapped = ToolError("search for 'q' failed")
    wrapped.__cause__ = exc
    assert classify(wrapped).kind == kind  # LiveWeb wraps failures; the cause decides


def test_health_follows_the_backend():
    web = Failing(ToolError("search for 'q' failed (KeyError)"))
    app = create_app(web)
    assert call(app, "GET", "/health").json()["status"] == "ok"  # nothing called yet
    assert call(app, "POST", "/search", json={"query": "Paris"}).status_code == 502
    assert call(app, "GET", "/health").json()["status"] == "degraded"
    for _ in range(2):
        call(app, "POST", "/search", json={"query": "Paris"})
    failing = call(app, "GET", "/health")
    assert failing.status_code == 503 and failing.json()["status"] == "failing"
    assert failing.json()["backend"]["consecutive_failures"] == 3
    assert failing.json()["requests"] == {"search": 3, "errors": 3}
    web.fail = False
    assert call(app, "POST", "/search", json={"query": "Paris"}).status_code == 200
    ok = call(app, "GET", "/health")
    assert ok.status_code == 200 and ok.json()["status"] == "ok" and ok.json()["backend"]["failures"] == 3


def test_health_probe_finds_a_bad_key_before_any_traffic():
    web = Failing(BackendError("serper rejected the API key (HTTP 401)", status=401))
    app = create_app(web)
    assert call(app, "GET", "/health").json()["status"] == "ok"
    probed = call(app, "GET", "/health?probe=true")
    assert probed.status_code == 503 and "API key" in probed.json()["backend"]["last_error"]["message"]


def test_backend_health_rule():
    h = BackendHealth(threshold=2, clock=lambda: 100.0)
    assert h.status == "ok"
    h.failure(classify(BackendError("x", retryable=True)))
    assert h.status == "degraded"
    h.failure(classify(BackendError("x", retryable=True)))
    assert h.status == "failing" and h.report()["last_error"]["at"] == 100.0
    h.success()
    assert h.status == "ok" and h.report()["last_success_at"] == 100.0
