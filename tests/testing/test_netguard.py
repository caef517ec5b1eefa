"""The test run's loopback-only guard (installed by tests/conftest.py): other addresses and names fail with a
clear message; loopback TCP, Unix sockets and subprocesses keep working."""

from __future__ import annotations

import asyncio
import errno
import socket
import subprocess
import sys

import httpx
import pytest

from openseeker.testing import netguard
from openseeker.testing.chat_server import Reply, ScriptedChatServer


def test_guard_is_installed_for_the_whole_run():
    assert netguard.installed()


@pytest.mark.parametrize("addr", [("10.255.255.1", 80), ("8.8.8.8", 53), ("2606:4700::1111", 443, 0, 0)])
def test_connect_to_a_remote_address_is_blocked(addr):
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        with pytest.raises(netguard.BlockedNetwork, match="blocked in tests") as info:
            s.connect(addr)
        assert info.value.errno == errno.ENETUNREACH
        with pytest.raises(netguard.BlockedNetwork):
            s.connect_ex(addr)


def test_udp_sendto_remote_is_blocked():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(netguard.BlockedNetwork):
        s.sendto(b"x", ("1.1.1.1", 53))


def test_name_resolution_of_remote_hosts_is_blocked():
    with pytest.raises(socket.gaierror, match="blocked in tests"):
        socket.getaddrinfo("example.com", 443)
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_http_clients_get_the_clear_error():
    with pytest.raises(httpx.ConnectError, match="blocked in tests"):
        httpx.get("https://example.com/", timeout=5)

    async def aio():
        await asyncio.open_connection("10.0.0.1", 80)

    with pytest.raises(OSError, match="blocked in tests"):
        asyncio.run(aio())


def test_loopback_unix_sockets_and_subprocesses_still_work(tmp_path):
    with ScriptedChatServer([Reply(content="ok")]) as srv:
        r = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": []}, timeout=10)
        assert r.status_code == 200
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
    out = subprocess.run([sys.executable, "-c", "print(42)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


@pytest.mark.parametrize(
    "host,local",
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("localhost", True),
        (None, True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("example.com", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_is_local_host(host, local):
    assert netguard.is_local_host(host) is local
