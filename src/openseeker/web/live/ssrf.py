"""SSRF guard for live ``visit``: the URLs come from a model, so they may point at our own network.

Policy (default): only ``http``/``https``; refuse any host that resolves to a loopback, private (RFC 1918, ULA
fc00::/7), shared (100.64/10), link-local (169.254/16 incl. the 169.254.169.254 cloud-metadata address, fe80::/10),
unspecified, multicast or reserved address. EVERY resolved address must be public, not just the first. IPv4-mapped
IPv6 (``::ffff:10.0.0.1``) and NAT64/6to4 forms are checked as the IPv4 they embed. An explicit allow-list
(hostnames, IPs or CIDRs) overrides the block (tests allow 127.0.0.1).

DNS rebinding: a check at URL level followed by a second, independent DNS lookup inside the HTTP client would let
a hostile resolver answer "public" then "private". So the guard also sits INSIDE the connection: ``GuardedBackend``
is an httpcore network backend that resolves the host itself, checks every address, and opens the TCP connection
to the checked IP (TLS still uses the hostname for SNI and certificate checks). What is checked is what is
connected to, for the first request and for every redirect hop. Proxies from the environment are ignored
(``trust_env=False``) so the check is not silently bypassed by connecting to a proxy instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from openseeker.errors import ToolError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_BENCHMARK = ipaddress.ip_network("198.18.0.0/15")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddress(ToolError):
    """The URL is refused by the SSRF policy (message is shown to the agent)."""


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def block_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or ``None`` when it is."""
    inner = _embedded_v4(ip)
    if inner is not None:
        reason = block_reason(inner)
        return f"{reason} (embedded in {ip})" if reason else None
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and (ip in _SHARED or ip in _BENCHMARK):
        return "a shared/benchmark (non-public) address"
    if ip.is_private:
        return "a private-network address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved (non-global) address"
    return None


async def _system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ToolError(f"cannot resolve host {host!r} ({exc.strerror or exc})") from None
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]
        if addr not in seen:
            seen.append(addr)
    return seen


class SSRFGuard:
    """Checks URLs and connections against the policy above.

    Args:
        allow: hostnames (exact, or ``*.suffix``), IPs or CIDRs that bypass the block.
        block_private: ``False`` turns the address block off entirely (schemes are still checked).
        resolver: ``async (host, port) -> [ip, ...]``; defaults to the system resolver (tests inject one).
    """

    def __init__(self, allow: Iterable[str] = (), *, block_private: bool = True, resolver: Resolver | None = None):
        self.block_private = block_private
        self.resolver = resolver or _system_resolver
        self.allow_nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.allow_hosts: list[str] = []
        for entry in allow:
            entry = str(entry).strip().lower()
            if not entry:
                continue
            try:
                self.allow_nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allow_hosts.append(entry.rstrip("."))
        self.blocked = 0  # refusals, for stats

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.allow_hosts:
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False

    def ip_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allow_nets)

    def _refuse(self, message: str) -> BlockedAddress:
        self.blocked += 1
        log.info("ssrf: %s", message)
        return BlockedAddress(message)

    def check_scheme(self, url: str) -> tuple[str, str, int]:
        """``(scheme, host, port)`` of an http(s) URL, or ``BlockedAddress`` for anything else."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise self._refuse(f"refused: malformed URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            shown = f"{scheme}://" if scheme else "a URL without a scheme"
            raise self._refuse(f"refused: only http:// and https:// URLs can be visited, not {shown}")
        host = parts.hostname or ""
        if not host:
            raise self._refuse("refused: the URL has no host")
        return scheme, host, port or (443 if scheme == "https" else 80)

    async def resolve_checked(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses if ALL are allowed; ``BlockedAddress`` otherwise."""
        host = host.strip("[]")
        if not self.block_private or self.host_allowed(host):
            try:
                ipaddress.ip_address(host)
                return [host]
            except ValueError:
                return await self.resolver(host, port)
        try:
            ipaddress.ip_address(host)
            addrs = [host]
        except ValueError:
            addrs = await self.resolver(host, port)
        if not addrs:
            raise ToolError(f"cannot resolve host {host!r}")
        for addr in addrs:
            ip = ipaddress.ip_address(addr)
            if self.ip_allowed(ip):
                continue
            reason = block_reason(ip)
            if reason:
                shown = host if host == addr else f"{host} ({addr})"
                raise self._refuse(
                    f"refused: {shown} is {reason}; private, loopback, link-local and metadata "
                    "addresses cannot be visited (allow-list it in live.ssrf.allow if intended)"
                )
        return addrs

    async def check_url(self, url: str) -> None:
        """Raise ``BlockedAddress`` unless ``url`` is http(s) and its host resolves only to allowed addresses."""
        _scheme, host, port = self.check_scheme(url)
        await self.resolve_checked(host, port)

    def network_backend(self):
        """An httpcore network backend that connects only to addresses this guard checked (see module doc)."""
        return GuardedBackend(self)


def _make_backend_base():
    import httpcore

    return httpcore.AsyncNetworkBackend


class GuardedBackend(_make_backend_base()):  # type: ignore[misc]
    """httpcore backend: resolve + check + connect to the checked IP (defeats DNS rebinding between check and use)."""

    def __init__(self, guard: SSRFGuard):
        import httpcore

        self.guard = guard
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        host = host.decode() if isinstance(host, bytes) else host
        addrs = await self.guard.resolve_checked(host, port)
        last_exc: Exception | None = None
        for addr in addrs:
            try:
                return await self.inner.connect_tcp(
                    addr, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except OSError as exc:  # try the next checked address
                last_exc = exc
            except Exception as exc:  # httpcore.ConnectError / ConnectTimeout
                last_exc = exc
        assert last_exc is not None
        raise last_exc

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise self.guard._refuse("refused: unix sockets cannot be visited")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
