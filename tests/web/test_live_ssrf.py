"""SSRF: the default policy refuses internal addresses and non-http(s) schemes, on every hop, after DNS."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from openseeker.errors import ToolError
from openseeker.testing.fake_search_apis import FakeSite, Route
from openseeker.web.live import LiveWeb
from openseeker.web.live.ssrf import BlockedAddress, SSRFGuard, block_reason
from openseeker.web.tools import VisitTool

PAGE = "<html><head><title>Internal</title></head><body><p>" + "secret admin panel text " * 20 + "</p></body></html>"


@pytest.fixture(scope="module")
def site():
    routes = {
        "/admin": Route(PAGE),
        "/to-private": Route(status=302, headers={"Location": "http://10.1.2.3/admin"}),
        "/to-metadata": Route(status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        "/to-internal-name": Route(status=302, headers={"Location": "http://intranet.corp/admin"}),
        "/to-file": Route(status=302, headers={"Location": "file:///etc/passwd"}),
    }
    with FakeSite(routes) as s:
        yield s


def make_resolver(table: dict[str, list[list[str]]]):
    """A resolver answering from ``table`` (host -> successive answers; the last one repeats)."""
    calls: dict[str, int] = {}

    async def resolve(host: str, port: int) -> list[str]:
        answers = table[host]
        i = calls.get(host, 0)
        calls[host] = i + 1
        return answers[min(i, len(answers) - 1)]

    resolve.calls = calls
    return resolve


def web_with(allow=(), resolver=None) -> LiveWeb:
    cfg = {"backend": "ddgs", "cache": {"path": None}, "ssrf": {"allow": list(allow)}}
    return LiveWeb.from_config(cfg, resolver=resolver)


def visit(web: LiveWeb, url: str) -> str:
    return asyncio.run(VisitTool(web).execute({"url": url, "goal": "anything"}))


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://127.0.0.1:{port}/admin", "loopback"),
        ("http://localhost:{port}/admin", "loopback"),
        ("http://[::1]:{port}/admin", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/admin", "loopback"),
        ("http://10.0.0.1/", "private-network"),
        ("http://192.168.1.1/router", "private-network"),
        ("http://172.16.5.4/", "private-network"),
        ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"),
        ("http://0.0.0.0:{port}/", "unspecified"),
    ],
)
def test_internal_addresses_are_refused_by_default(site, url, reason):
    url = url.format(port=site.port)
    web = web_with()
    before = len(site.requests)
    out = visit(web, url)
    stats = web.stats()["fetch"]
    web.close()
    assert out.startswith(f"[visit] Could not open {url}: refused: ")
    assert reason in out and "cannot be visited" in out
    assert len(site.requests) == before  # nothing reached the server
    assert stats["blocked"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "ftp://example.com/f",
        "javascript:alert(1)",
        "//example.com/no-scheme",
    ],
)
def test_non_http_schemes_are_refused(url):
    web = web_with()
    out = visit(web, url)
    web.close()
    assert "refused: only http:// and https:// URLs can be visited" in out


@pytest.mark.parametrize(
    "path,reason",
    [
        ("/to-private", "10.1.2.3 is a private-network address"),
        ("/to-metadata", "169.254.169.254 is a cloud metadata address"),
        ("/to-internal-name", "intranet.corp (10.9.9.9) is a private-network"),
        ("/to-file", "only http:// and https://"),
    ],
)
def test_redirect_into_private_address_is_refused(site, path, reason):
    resolver = make_resolver({"intranet.corp": [["10.9.9.9"]]})
    web = web_with(allow=["127.0.0.1"], resolver=resolver)  # the site itself is allowed; its redirect target is not
    out = visit(web, site.url(path))
    web.close()
    assert out.startswith(f"[visit] Could not open {site.url(path)}: refused: ") and reason in out


def test_dns_name_resolving_to_private_is_refused_even_if_one_address_is_public():
    resolver = make_resolver({"mixed.example": [["93.184.216.34", "10.0.0.7"]]})
    web = web_with(resolver=resolver)
    out = visit(web, "http://mixed.example/")
    web.close()
    assert "mixed.example (10.0.0.7) is a private-network address" in out


def test_dns_rebinding_is_caught_at_connect_time(site):
    # The URL-level check sees a public address; the second lookup (at connect time) answers loopback.
    resolver = make_resolver({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    web = web_with(resolver=resolver)
    before = len(site.requests)
    with pytest.raises(BlockedAddress, match="rebind.example \\(127.0.0.1\\) is a loopback address"):
        asyncio.run(web.fetch(f"http://rebind.example:{site.port}/admin"))
    web.close()
    assert resolver.calls["rebind.example"] == 2 and len(site.requests) == before


def test_connection_goes_to_the_checked_ip(site):
    # An allowed name is connected to through the address the guard resolved (the Host header keeps the name).
    resolver = make_resolver({"docs.internal": [["127.0.0.1"]]})
    web = web_with(allow=["docs.internal", "127.0.0.0/8"], resolver=resolver)
    page = asyncio.run(web.fetch(f"http://docs.internal:{site.port}/admin"))
    web.close()
    assert page.title == "Internal" and resolver.calls["docs.internal"] >= 1


def test_allow_list_by_cidr(site):
    web = web_with(allow=["127.0.0.0/8"])
    page = asyncio.run(web.fetch(site.url("/admin")))
    web.close()
    assert "secret admin panel" in page.text


@pytest.mark.parametrize(
    "ip,blocked",
    [
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
        ("127.0.0.53", True),
        ("10.255.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.0.1", True),
        ("169.254.10.10", True),
        ("100.64.1.1", True),
        ("224.0.0.1", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("fc00::1", True),
        ("fd12::1", True),
        ("fe80::1", True),
        ("::1", True),
        ("::", True),
        ("::ffff:10.0.0.1", True),
        ("64:ff9b::a00:1", True),
        ("2002:a00:1::", True),
        ("ff02::1", True),
    ],
)
def test_block_reason_table(ip, blocked):
    assert (block_reason(ipaddress.ip_address(ip)) is not None) == blocked


def test_guard_unit():
    guard = SSRFGuard(["*.trusted.test", "192.168.0.0/16"])
    assert guard.host_allowed("a.trusted.test") and not guard.host_allowed("trusted.test.evil.com")
    assert asyncio.run(guard.resolve_checked("192.168.3.4", 80)) == ["192.168.3.4"]
    with pytest.raises(ToolError):
        asyncio.run(guard.check_url("http://10.0.0.1/"))
    assert guard.blocked == 1


def _make_tls(tmp_path, hostname: str):
    """A throwaway CA and a server certificate for ``hostname`` (files: ca.pem, cert.pem, key.pem)."""
    import datetime

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(tmp_path / "ca.pem"), (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))


def test_https_through_the_guarded_connection_verifies_the_hostname(tmp_path):
    # The guard connects to the checked IP; TLS must still send SNI and verify the certificate for the NAME.
    ca, tls = _make_tls(tmp_path, "secure.test")
    resolver = make_resolver({"secure.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    with FakeSite({"/doc": Route(PAGE)}, tls=tls) as site:
        cfg = {
            "backend": "ddgs",
            "cache": {"path": None},
            "ssrf": {"allow": ["127.0.0.1"]},
            "fetch": {"ca_bundle": ca},
        }
        web = LiveWeb.from_config(cfg, resolver=resolver)
        page = asyncio.run(web.fetch(f"https://secure.test:{site.port}/doc"))
        with pytest.raises(ToolError, match="network error"):  # certificate is for secure.test, not other.test
            asyncio.run(web.fetch(f"https://other.test:{site.port}/doc"))
        web.close()
    assert page.title == "Internal" and page.url == f"https://secure.test:{site.port}/doc"
