"""A loopback-only network guard for test runs: no test can reach an address other than this machine.

``install()`` patches ``socket.socket.connect`` / ``connect_ex`` / ``sendto`` and ``socket.getaddrinfo`` in this
process. Allowed: Unix sockets, loopback addresses (127.0.0.0/8, ::1, IPv4-mapped loopback), the unspecified
address (0.0.0.0 / ::, which Linux routes to this host) and the names ``localhost`` / ``localhost.localdomain``.
Anything else raises ``BlockedNetwork`` (an ``OSError`` with ``errno.ENETUNREACH``, so code that handles "network
unreachable" behaves as it would offline, e.g. Ray's node-IP discovery falls back to 127.0.0.1) whose message
names the address and how to fix the test. Name resolution of any other host raises ``socket.gaierror``.

It does not reach into subprocesses (a test's Ray workers or a browser run their own network stack) nor into C
libraries that open sockets themselves (llama.cpp's server listens on 127.0.0.1 anyway). ``tests/conftest.py``
installs it for the whole run (``pytest_configure``); set ``OPENSEEKER_TEST_NETWORK=1`` to run without it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_originals: dict[str, Any] = {}


class BlockedNetwork(OSError):
    """A test tried to reach a non-loopback address."""


def is_local_host(host: Any) -> bool:
    """True for loopback / unspecified IP literals and the local host names (``None`` and ``""`` too)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in ("", *_LOCAL_NAMES):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback or ip.is_unspecified


def _check_address(sock: socket.socket, address: Any, what: str) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets, netlink, ...
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_local_host(host):
        raise BlockedNetwork(
            errno.ENETUNREACH,
            f"network access blocked in tests: {what} to {address!r}; tests may "
            "only reach loopback (127.0.0.1, ::1) or Unix sockets — start a fake server on "
            "127.0.0.1 (openseeker.testing) instead",
        )


def install() -> None:
    """Patch the socket module (idempotent)."""
    if _originals:
        return
    _originals.update(
        connect=socket.socket.connect,
        connect_ex=socket.socket.connect_ex,
        sendto=socket.socket.sendto,
        getaddrinfo=socket.getaddrinfo,
    )

    def connect(self, address):
        _check_address(self, address, "connect")
        return _originals["connect"](self, address)

    def connect_ex(self, address):
        _check_address(self, address, "connect")
        return _originals["connect_ex"](self, address)

    def sendto(self, data, *args):
        _check_address(self, args[-1] if args else None, "sendto")
        return _originals["sendto"](self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not is_local_host(host):
            raise socket.gaierror(
                socket.EAI_NONAME,
                f"name resolution blocked in tests: {host!r} is not a loopback "
                "name; tests may only reach 127.0.0.1 / ::1 / localhost",
            )
        return _originals["getaddrinfo"](host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def uninstall() -> None:
    """Restore the socket module."""
    if not _originals:
        return
    socket.socket.connect = _originals["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _originals["connect_ex"]  # type: ignore[method-assign]
    socket.socket.sendto = _originals["sendto"]  # type: ignore[method-assign]
    socket.getaddrinfo = _originals["getaddrinfo"]  # type: ignore[assignment]
    _originals.clear()


def installed() -> bool:
    return bool(_originals)
