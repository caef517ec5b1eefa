"""QA synthesis over the live web: seed urls are fetched from a site on 127.0.0.1, their links crawled into a
graph, and the ordinary pipeline (real HTTP to the scripted Oracle model) accepts samples from it."""

from __future__ import annotations

import asyncio
import html

import pytest

from openseeker.errors import UserError
from openseeker.io import read_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.synth.qa import QAControls, synthesize_qa_async
from openseeker.synth.qa.live import crawl_live, read_seed_urls
from openseeker.testing.chat_server import ScriptedChatServer
from openseeker.testing.fake_search_apis import FakeSite, Route
from openseeker.testing.qa_oracle import Oracle, tiny_world
from openseeker.web.live import LiveWeb


def synth_over(graph, out, n):
    async def go():
        with ScriptedChatServer(Oracle().reply) as srv:
            async with LLMPool(endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)) as pool:
                return await synthesize_qa_async(
                    graph,
                    n,
                    out,
                    pool=pool,
                    controls=QAControls(),
                    seed=0,
                    concurrency=3,
                    max_candidates=9,
                    progress=False,
                )

    return asyncio.run(go())


def site_routes(world):
    """Each tiny-world page as an HTML page; its hyperlinks as <a href> to the other pages' paths."""
    path = {p.url: "/wiki/" + p.url.rsplit("/", 1)[1] for p in world.pages.values()}
    routes = {}
    for url, page in world.pages.items():
        anchors = "".join(
            f'<li><a href="{path[link.dst]}">{html.escape(world.pages[link.dst].title)}</a></li>'
            for link in world.out_links(url)
        )
        body = (
            f"<html><head><title>{html.escape(page.title)}</title></head><body><article>"
            f"<h1>{html.escape(page.title)}</h1><p>{html.escape(page.text)}</p></article>"
            f"<ul>{anchors}</ul><a href='#top'>top</a><a href='mailto:x@y'>mail</a></body></html>"
        )
        routes[path[url]] = Route(body=body)
    return routes, path


def live_web():
    return LiveWeb.from_config({"backend": "ddgs", "cache": {"path": None}, "ssrf": {"allow": ["127.0.0.1"]}})


def test_crawl_follows_links_into_a_graph():
    world = tiny_world()
    routes, path = site_routes(world)
    with FakeSite(routes) as site:
        web = live_web()
        seed = site.url(path["https://en.wikipedia.org/wiki/Ray_Charles"])
        graph, stats = asyncio.run(crawl_live(web, [seed, site.url("/missing")], depth=2, fanout=8))
        web.close()
    titles = {p.title for p in graph.pages.values()}
    assert "Ray Charles" in titles and "Georgia on My Mind" in titles and "Hoagy Carmichael" in titles
    assert stats["failed"] == 1 and stats["links"] > 0  # the 404 is skipped, not fatal
    ray = next(p for p in graph.pages.values() if p.title == "Ray Charles")
    assert {graph.get(link.dst).title for link in graph.out_links(ray.url)} >= {"Georgia on My Mind"}
    assert "Albany, Georgia" in ray.text


def test_live_synthesis_accepts_samples_from_crawled_pages(tmp_path):
    world = tiny_world()
    routes, path = site_routes(world)
    with FakeSite(routes) as site:
        web = live_web()
        seeds = [site.url(p) for p in path.values()]
        graph, _ = asyncio.run(crawl_live(web, seeds, depth=1, fanout=8))
        web.close()
    out = tmp_path / "qa.jsonl"
    report = synth_over(graph, out, n=2)
    rows = read_jsonl(out)
    assert report["accepted"] == len(rows) >= 1
    assert all(r["seed_url"].startswith(site.base_url) for r in rows)


def test_seed_url_file_and_errors(tmp_path):
    f = tmp_path / "seeds.txt"
    f.write_text("# seeds\nhttps://example.org/a\n\nhttp://example.org/b\n")
    assert read_seed_urls(f) == ["https://example.org/a", "http://example.org/b"]
    f.write_text("file:///etc/passwd\n")
    with pytest.raises(UserError, match="not an http"):
        read_seed_urls(f)
    with pytest.raises(UserError, match="needs seed urls"):
        asyncio.run(crawl_live(object(), []))
