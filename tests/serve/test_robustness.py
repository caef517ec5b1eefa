"""What other projects' clients hit: Search-R1 batch sizes, inputs that used to give HTTP 500 and drop the
keep-alive connection, stalled bodies, HEAD /health, the one top_k rule, the raw query length, the OpenAPI spec."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from serve_helpers import call, running

from openseeker.records import Page
from openseeker.serve.http import create_app
from openseeker.serve.limits import DEFAULT_MAX_BODY, RETRIEVE_MAX_QUERIES, SEARCH_TOP_K, TOP_K_MAX
from openseeker.testing.fake_web import FakeWeb, tiny_pages

NESTED = b"[" * 1000 + b"]" * 1000
NESTED_OBJ = b'{"query": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001


def search_r1_queries(n: int, chars: int = 400) -> list[str]:
    base = "who designed the Eiffel Tower and when was the tower in Paris completed "
    return [(f"{i} " + base * (chars // len(base) + 1))[:chars] for i in range(n)]


@pytest.fixture
def web():
    return FakeWeb(tiny_pages())


def test_search_r1_batch_of_2560_queries(web):
    """Search-R1's request shape (generation.py `_batch_search`: queries, topk, return_scores=True) with a whole
    rollout batch, 512 x 5 = 2,560 queries of 400 characters, under the default body limit."""
    app = create_app(web)
    payload = {"queries": search_r1_queries(2560), "topk": 3, "return_scores": True}
    assert len(json.dumps(payload)) < DEFAULT_MAX_BODY
    r = call(app, "POST", "/retrieve", json=payload)
    assert r.status_code == 200
    result = r.json()["result"]
    assert len(result) == 2560 and all(len(per) == 3 for per in result)
    assert all(len(batch) <= 256 for batch in web.searches)  # batched inside, in order
    assert sum(len(b) for b in web.searches) == 2560


def test_retrieve_limits_are_4096_queries_and_escaped_bodies_fit():
    web = FakeWeb(tiny_pages())
    app = create_app(web)
    r = call(app, "POST", "/retrieve", json={"queries": ["Paris"] * RETRIEVE_MAX_QUERIES, "topk": 1})
    assert r.status_code == 200 and len(r.json()["result"]) == RETRIEVE_MAX_QUERIES
    r = call(app, "POST", "/retrieve", json={"queries": ["Paris"] * (RETRIEVE_MAX_QUERIES + 1)})
    assert r.status_code == 400 and f"at most {RETRIEVE_MAX_QUERIES}" in r.json()["detail"]
    # 2,560 queries of 400 non-Latin characters, every one sent as a \\uXXXX escape (json.dumps' default)
    body = json.dumps({"queries": ["\u5317\u4eac" * 200] * 2560, "topk": 1}).encode()
    assert len(body) > 5_000_000
    r = call(app, "POST", "/retrieve", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and len(r.json()["result"]) == 2560


def test_blank_queries_keep_their_place_in_retrieve(web):
    r = call(create_app(web), "POST", "/retrieve", json={"queries": ["Paris", "  ", "Berlin"], "topk": 1})
    result = r.json()["result"]
    assert len(result) == 3 and result[1] == [] and result[2][0]["title"] == "Berlin"


@pytest.mark.parametrize("bad", [0, -1, 10**6, "5", 2.5, True])
def test_one_top_k_rule_for_search_and_retrieve(web, bad):
    app = create_app(web)
    r1 = call(app, "POST", "/search", json={"query": "Paris", "top_k": bad})
    r2 = call(app, "POST", "/retrieve", json={"queries": ["Paris"], "topk": bad})
    assert r1.status_code == 422 and r2.status_code == 422
    assert r1.json()["detail"][0]["loc"] == ["top_k"] and r2.json()["detail"][0]["loc"] == ["topk"]


def test_top_k_bounds_and_defaults(web):
    app = create_app(web)
    assert call(app, "POST", "/search", json={"query": "Paris", "top_k": TOP_K_MAX}).status_code == 200
    assert call(app, "POST", "/retrieve", json={"queries": ["Paris"], "topk": TOP_K_MAX}).status_code == 200
    r = call(app, "POST", "/retrieve", json={"queries": ["capital city"], "topk": None})
    assert len(r.json()["result"][0]) == 3  # Search-R1's default
    r = call(app, "POST", "/search", json={"query": "capital city"})
    assert len(r.json()["hits"][0]) == 3  # every page matching (default 10)


def test_null_top_k_is_the_default_on_search(web):
    """docs/serve.md: missing or null means the door's default, on /search as on /retrieve."""
    towers = [Page(url=f"https://t.org/{i}", title=f"Tower {i}", text=f"tower number {i}") for i in range(12)]
    app = create_app(FakeWeb(towers))
    null = call(app, "POST", "/search", json={"query": "tower", "top_k": None})
    missing = call(app, "POST", "/search", json={"query": "tower"})
    assert null.status_code == 200, null.text
    assert len(null.json()["hits"][0]) == SEARCH_TOP_K and null.json() == missing.json()


def test_query_length_is_the_raw_length(web):
    app = create_app(web)
    padded = " " + "x" * 511 + " "  # 513 characters as sent, 511 after stripping
    r = call(app, "POST", "/search", json={"query": ["Paris", padded]})
    assert r.status_code == 400 and r.json()["detail"] == "query 1 is 513 characters; at most 512"
    assert call(app, "POST", "/search", json={"query": ["x" * 512]}).status_code == 200


@pytest.mark.parametrize(
    "path,body",
    [
        ("/search", NESTED),
        ("/retrieve", NESTED),
        ("/visit", NESTED),
        ("/search", NESTED_OBJ),
        ("/search", b'{"query": "caf\\ud800"}'),
        ("/search", b'{"query": ["ok", "\\udfff"]}'),
        ("/visit", b'{"url": "https://x/\\ud800", "goal": "g"}'),
        ("/visit", b'{"url": "https://x/", "goal": "\\ud800"}'),
        ("/retrieve", b'{"queries": ["\\ud800"]}'),
        ("/search", b"\xff\xfe{}"),
        ("/search", b'{"query": "a"'),
    ],
)
def test_inputs_that_used_to_500_are_4xx_and_the_connection_stays_usable(path, body):
    with running(create_app(FakeWeb(tiny_pages()))) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        bad = conn.getresponse()
        detail = json.loads(bad.read())["detail"]
        sock = conn.sock
        conn.request(
            "POST", "/search", body=json.dumps({"query": "Paris"}), headers={"Content-Type": "application/json"}
        )
        good = conn.getresponse()
        good_body = json.loads(good.read())
        same_connection = conn.sock is sock and sock is not None
        conn.close()
    assert 400 <= bad.status < 500, (bad.status, detail)
    assert detail and "Traceback" not in json.dumps(detail)
    if b"\\ud" in body:
        assert "surrogate" in json.dumps(detail)
    if body in (NESTED, NESTED_OBJ):
        assert bad.status == 400 and "nested too deeply" in detail
    assert good.status == 200 and good_body["result"].startswith("A search for 'Paris'")
    assert same_connection  # the server did not close the keep-alive connection


def test_a_stalled_body_gets_408_instead_of_holding_the_connection():
    with (
        running(create_app(FakeWeb(tiny_pages()), body_timeout_s=0.5)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as s,
    ):
        s.sendall(
            b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query":'
        )
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b"9 of 100 bytes" in body


def test_head_health_and_get_health(web):
    with running(create_app(web)) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("HEAD", "/health")
        head = conn.getresponse()
        head.read()
        conn.request("GET", "/health")
        get = conn.getresponse()
        body = json.loads(get.read())
        conn.close()
    assert head.status == 200 and get.status == 200 and body["status"] == "ok"


def test_openapi_declares_request_bodies_and_errors(web):
    spec = call(create_app(web), "GET", "/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, model in (("/search", "SearchRequest"), ("/visit", "VisitRequest"), ("/retrieve", "RetrieveRequest")):
        op = spec["paths"][path]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert {"400", "401", "408", "413", "422"} <= set(op["responses"])
    assert {"424", "502", "503"} <= set(spec["paths"]["/retrieve"]["post"]["responses"])
    assert set(schemas["RetrieveRequest"]["properties"]) == {"queries", "topk", "return_scores"}
    topk = schemas["SearchRequest"]["properties"]["top_k"]
    assert topk["minimum"] == 1 and topk["maximum"] == TOP_K_MAX
    assert set(schemas["RetrieveDocument"]["properties"]) == {"id", "title", "text", "contents"}


def test_search_r1_client_against_the_cli_server_on_a_real_local_web(tmp_path):
    """`openseeker serve --web DIR` (tantivy index) answers Search-R1's 2,560-query request as its generation loop
    sends it (requests.post(json=payload); httpx where requests is absent) with 2,560 result lists."""
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a transitive dependency almost everywhere
        import httpx as requests

    from serve_helpers import cli_server, free_port, small_web

    web_dir = small_web(tmp_path)
    port = free_port()
    queries = [f"lattice tower in city {i % 7} designed by engineer {i % 5} " * 8 for i in range(2560)]
    with cli_server(["serve", "--web", str(web_dir), "--port", str(port)], port):
        r = requests.post(
            f"http://127.0.0.1:{port}/retrieve",
            json={"queries": [q[:400] for q in queries], "topk": 3, "return_scores": True},
            timeout=300,
        )
    assert r.status_code == 200
    result = r.json()["result"]
    assert len(result) == 2560 and all(len(per) == 3 for per in result)
    first = result[0][0]["document"]
    assert first["title"].startswith("Tower ") and first["contents"] == f'"{first["title"]}"\n{first["text"]}'
