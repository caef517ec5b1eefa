"""Live visit against a local site on 127.0.0.1: HTML, redirect chains, huge/binary/slow pages, PDF, reader."""

from __future__ import annotations

import asyncio

import pytest

from openseeker.errors import ToolError
from openseeker.testing.fake_search_apis import FakeSite, Route
from openseeker.web.live import LiveWeb
from openseeker.web.live.fetch import classify, parse_reader_output
from openseeker.web.tools import VisitTool

ARTICLE = """<!doctype html><html><head><title>The Eiffel Tower</title></head><body>
<nav>Home | About | Contact</nav>
<article><h1>The Eiffel Tower</h1>
<p>The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the
engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.</p>
<p>Locally nicknamed "La dame de fer", it was constructed as the centrepiece of the 1889 World's Fair, and to
crown the centennial anniversary of the French Revolution. The tower is 330 metres tall.</p>
</article><footer>Copyright footer text</footer><script>var tracking = 1;</script></body></html>"""


def make_pdf(text: str) -> bytes:
    """A minimal one-page PDF with ``text`` in Helvetica (xref offsets computed)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def site():
    routes = {
        "/page": Route(ARTICLE),
        "/r1": Route(status=302, headers={"Location": "/r2"}),
        "/r2": Route(status=301, headers={"Location": "r3"}),
        "/r3": Route(status=307, headers={"Location": "/page"}),
        "/loop": Route(status=302, headers={"Location": "/loop"}),
        "/huge": Route("<html><body>" + "x" * 3_000_000 + "</body></html>"),
        "/huge-stream": Route("<html><body>" + "y" * 3_000_000 + "</body></html>", send_length=False, chunks=30),
        "/image.png": Route(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, content_type="image/png"),
        "/blob": Route(b"\x00\x01\x02\xff" * 100, content_type="application/octet-stream"),
        "/slow": Route(ARTICLE, delay=2.0),
        "/drip": Route(ARTICLE, chunks=20, chunk_delay=0.2),
        "/doc.pdf": Route(make_pdf("Gustave Eiffel built the tower in 1889"), content_type="application/pdf"),
        "/notes.txt": Route("Plain notes: the tower is 330 m tall.", content_type="text/plain; charset=utf-8"),
        "/gone": Route("<html>gone</html>", status=410),
        "/gbk": Route(
            (
                "<html><head><meta charset='gbk'><title>北京</title></head><body><article><p>"
                + "北京是中华人民共和国的首都，也是全国的政治和文化中心。" * 10
                + "</p></article></body></html>"
            ).encode("gbk"),
            content_type="text/html",
        ),
    }
    with FakeSite(routes) as s:
        yield s


def live(site=None, **fetch) -> LiveWeb:
    cfg = {
        "backend": "ddgs",
        "cache": {"path": None},
        "ssrf": {"allow": ["127.0.0.1"]},
        "fetch": {"max_bytes": 1_000_000, "total_timeout_s": 1.5, "rate_per_s": 0, **fetch},
    }
    return LiveWeb.from_config(cfg)


def fetch(web: LiveWeb, url: str):
    return asyncio.run(web.fetch(url))


def test_html_page_to_markdown(site):
    web = live()
    page = fetch(web, site.url("/page"))
    web.close()
    assert page.title == "The Eiffel Tower"
    assert "wrought-iron lattice tower" in page.text and "330 metres" in page.text
    assert "tracking" not in page.text and "Copyright footer" not in page.text
    assert page.metadata["kind"] == "html" and page.source == "live"


def test_redirect_chain_is_followed_and_recorded(site):
    web = live()
    page = fetch(web, site.url("/r1"))
    web.close()
    assert page.url == site.url("/page")
    assert page.metadata["redirects"] == [site.url("/r2"), site.url("/r3"), site.url("/page")]
    assert page.metadata["requested_url"] == site.url("/r1")


def test_redirect_loop_is_bounded(site):
    web = live(max_redirects=3)
    before = len(site.requests)
    with pytest.raises(ToolError, match="too many redirects"):
        fetch(web, site.url("/loop"))
    web.close()
    assert len(site.requests) - before == 4


@pytest.mark.parametrize("path", ["/huge", "/huge-stream"])
def test_huge_page_is_refused(site, path):
    web = live()
    with pytest.raises(ToolError, match=r"too large: .* over the 1.0 MB limit"):
        fetch(web, site.url(path))
    web.close()


@pytest.mark.parametrize("path,what", [("/image.png", "image/png"), ("/blob", "binary content")])
def test_binary_is_refused(site, path, what):
    web = live()
    with pytest.raises(ToolError, match="binary content") as err:
        fetch(web, site.url(path))
    web.close()
    assert what in str(err.value)


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_slow_page_times_out(site, path):
    web = live(total_timeout_s=1.0)
    with pytest.raises(ToolError, match=r"timed out: .* within 1s"):
        fetch(web, site.url(path))
    web.close()


def test_pdf_text_is_extracted(site):
    pytest.importorskip("pypdf")
    web = live()
    page = fetch(web, site.url("/doc.pdf"))
    web.close()
    assert "Gustave Eiffel built the tower in 1889" in page.text and page.metadata["kind"] == "pdf"


def test_pdf_refused_when_turned_off(site):
    web = live(pdf=False)
    with pytest.raises(ToolError, match="is a PDF; PDF reading is turned off"):
        fetch(web, site.url("/doc.pdf"))
    web.close()


def test_charset_declared_only_in_html_meta(site):
    web = live()
    page = fetch(web, site.url("/gbk"))
    web.close()
    assert page.title == "北京" and "北京是中华人民共和国的首都" in page.text


def test_plain_text_and_http_errors(site):
    web = live()
    assert fetch(web, site.url("/notes.txt")).text == "Plain notes: the tower is 330 m tall."
    with pytest.raises(ToolError, match="HTTP 410"):
        fetch(web, site.url("/gone"))
    stats = web.stats()["fetch"]
    web.close()
    assert stats["errors"] == 1 and stats["calls"] == 2


def test_visit_tool_turns_failures_into_observations(site):
    web = live()
    out = asyncio.run(VisitTool(web).execute({"url": [site.url("/page"), site.url("/image.png")], "goal": "height"}))
    web.close()
    first, second = out.split("\n=======\n")
    assert first.startswith(f"Page: [The Eiffel Tower]({site.url('/page')})")
    assert second.startswith(f"[visit] Could not open {site.url('/image.png')}: ") and "binary content" in second


def test_pages_are_cached(site, tmp_path):
    cfg = {"backend": "ddgs", "cache": {"path": str(tmp_path / "c.sqlite")}, "ssrf": {"allow": ["127.0.0.1"]}}
    web = LiveWeb.from_config(cfg)
    before = len(site.requests)
    a = fetch(web, site.url("/page") + "#frag")
    b = fetch(web, site.url("/page"))
    stats = web.stats()["fetch"]
    web.close()
    assert a == b and len(site.requests) - before == 1 and stats["hits"] == 1 and stats["misses"] == 1


def test_reader_service(site):
    target = "https://example.com/article"
    reader_text = (
        "Title: Example Article\n\nURL Source: https://example.com/article\n\nMarkdown Content:\n"
        "# Example\n\nThe reader returned this body."
    )
    site.routes["/" + target] = Route(reader_text, content_type="text/plain")

    async def resolver(host, port):
        return {"example.com": ["93.184.216.34"]}[host]

    cfg = {"backend": "ddgs", "cache": {"path": None}, "fetch": {"reader_url": site.base_url}}
    web = LiveWeb.from_config(cfg, resolver=resolver)
    page = fetch(web, target)
    with pytest.raises(ToolError, match="loopback"):  # the target is still SSRF-checked before the reader call
        fetch(web, "http://127.0.0.1:9/admin")
    web.close()
    assert page.title == "Example Article" and page.text == "# Example\n\nThe reader returned this body."
    assert page.metadata["via"] == "reader"


def test_helpers():
    assert classify("text/html; charset=utf-8", "u") == "html"
    assert classify("application/octet-stream", "https://x/a.pdf") == "pdf"
    assert classify("", "u", b"%PDF-1.7 ...") == "pdf"
    assert classify("image/jpeg", "u") == "binary"
    assert classify("application/json", "u") == "text"
    assert parse_reader_output("no header at all") == ("", "no header at all")


def test_httpx_failures_become_one_line_tool_errors():
    # the three httpx -> ToolError mappings (connect, body read, reader service) are one helper: each keeps its
    # own message
    import httpx

    from openseeker.web.live.config import FetchSettings
    from openseeker.web.live.fetch import Fetcher
    from openseeker.web.live.ssrf import SSRFGuard

    class FailingStream(httpx.AsyncByteStream):
        async def __aiter__(self):
            raise httpx.ReadError("connection reset")
            yield b""  # pragma: no cover

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/down"):
            raise httpx.ConnectError("refused")
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow")
        return httpx.Response(200, headers={"content-type": "text/html"}, stream=FailingStream())

    async def go(path: str, reader: bool = False) -> str:
        settings = FetchSettings(reader_url="http://127.0.0.1:9/reader" if reader else None)
        fetcher = Fetcher(settings, SSRFGuard(allow=["127.0.0.1"]))
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            with pytest.raises(ToolError) as err:
                await fetcher.fetch(f"http://127.0.0.1{path}", client=client, reader_client=client)
        return str(err.value)

    assert asyncio.run(go("/down")) == "network error (ConnectError: refused)"
    assert asyncio.run(go("/slow")) == "timed out connecting to or reading http://127.0.0.1/slow"
    assert asyncio.run(go("/body")) == (
        "network error while reading http://127.0.0.1/body (ReadError: connection reset)"
    )
    assert asyncio.run(go("/down", reader=True)) == "reader service unreachable (ConnectError: refused)"
