"""WARC files written for the tests with warcio (a WARC library independent of our reader, fastwarc).

A helper module, not a test module: the tests that write archives import these, and warcio is imported only when
an archive is written, so every other test of those modules still runs where warcio is not installed (they once
imported the helpers from a test module that skipped itself, and failed to collect)."""

from __future__ import annotations

import io

import pytest


def _warcio():
    pytest.importorskip("warcio", reason="the dev extra's warcio writes the test archives")
    import warcio.statusandheaders
    import warcio.warcwriter

    return warcio


FILLER = (
    "This paragraph is here so that the main-content extractor sees a real article body and not a "
    "navigation stub; it talks about rivers, mountains, and the history of the valley at some length. "
)


FILLER_DE = (
    "Dieser Absatz steht hier, damit der Extraktor einen echten Artikel sieht und keine Navigation; er "
    "erzählt von Flüssen, Bergen und der Geschichte des Tals, und zwar ziemlich ausführlich. "
)


def html_page(title: str, body: str, head: str = "", lang: str = "en", filler: str = FILLER) -> str:
    return (
        f"<!doctype html><html lang='{lang}'><head>{head}<title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}<p>{filler * 3}</p></article>"
        "</body></html>"
    )


def write_response(w, url, payload: bytes, ctype="text/html; charset=utf-8", status="200 OK", headers=()):
    hd = _warcio().statusandheaders.StatusAndHeaders(status, [("Content-Type", ctype), *headers], protocol="HTTP/1.1")
    w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=hd))


def write_crawl(path, gz=True):
    """A small crawl whose pages, links, charsets, redirects and duplicates the tests know by construction."""
    with open(path, "wb") as fh:
        w = _warcio().warcwriter.WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        a = html_page(
            "Alpha page",
            "<p>Alpha is the first page. It links to <a href='/b'>the beta page</a>, to "
            "<a href='https://EXAMPLE.com/c#section'>gamma</a>, to <a href='http://example.com/old'>an "
            "old address</a>, <a href='mailto:x@example.com'>mail</a>, <a href='a?utm_source=x'>itself</a> "
            "and <a href='https://other.org/x'>elsewhere</a>.</p>",
        )
        write_response(w, "HTTP://Example.COM:80/a?utm_source=news#top", a.encode())
        req = _warcio().statusandheaders.StatusAndHeaders(
            "GET /a HTTP/1.1", [("Host", "example.com")], is_http_request=True
        )
        w.write_record(
            w.create_warc_record("http://example.com/a", "request", payload=io.BytesIO(b""), http_headers=req)
        )
        # windows-1252 declared in the HTTP header only
        b = html_page("Beta café", "<p>Beta serves café crème and crêpes. Back to <a href='a'>alpha</a>.</p>")
        write_response(w, "http://example.com/b", b.encode("cp1252"), ctype="text/html; charset=windows-1252")
        # ISO-8859-1 declared only in a <meta charset>
        c = html_page(
            "Gamma Größe",
            "<p>Gamma misst die Größe der Straße über dem Fluss. Die Brücke ist alt und "
            "die Häuser am Ufer sind schön.</p>",
            head="<meta charset='iso-8859-1'>",
            lang="de",
            filler=FILLER_DE,
        )
        write_response(w, "https://example.com/c", c.encode("latin-1"), ctype="text/html")
        # a redirect recorded in the archive
        write_response(
            w,
            "http://example.com/old",
            b"",
            ctype="text/html",
            status="301 Moved Permanently",
            headers=[("Location", "/b")],
        )
        # non-HTML, an error page, broken HTML, duplicates
        write_response(w, "http://example.com/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), ctype="image/png")
        write_response(
            w, "http://example.com/missing", html_page("Not found", "<p>gone</p>").encode(), status="404 Not Found"
        )
        broken = (
            "<html><head><title>Delta broken</title><body><div><p>Delta has <b>unclosed tags <i>and "
            "broken markup but its text is still readable by a person. " + FILLER + "<a href=/a>alpha"
            "</div></table></span>"
        )
        write_response(w, "http://example.com/d", broken.encode())
        write_response(
            w, "http://example.com/b#again", html_page("Beta again", "<p>another body, same url</p>").encode()
        )
        write_response(w, "http://mirror.example.net/a", a.encode())  # the same text under another url
    return path


def write_pages(path, pages, filler: str = FILLER):
    """A gzipped crawl of ``(url, title, body html)`` pages."""
    with open(path, "wb") as fh:
        w = _warcio().warcwriter.WARCWriter(fh, gzip=True)
        for url, title, body in pages:
            write_response(w, url, html_page(title, body, filler=filler).encode())
    return path
