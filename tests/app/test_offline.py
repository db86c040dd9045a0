"""Index + ask with every non-loopback connection refused: none may even be attempted."""
from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.docs_factory import make_mixed_folder


def _is_loopback(address) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.mark.slow
def test_index_and_ask_make_no_network_connections(home, tmp_path, monkeypatch, smollm_path):
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address) -> None:  # type: ignore[no-untyped-def]
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"network is off in this test: {address}")

    def connect(self, address):  # type: ignore[no-untyped-def]
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            attempts.append(("dns", host))
            raise socket.gaierror(f"network is off in this test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    from app import cli

    make_mixed_folder(tmp_path / "docs")
    assert cli.main(["index", str(tmp_path / "docs"), "--quiet"]) == 0
    assert cli.main(["ask", "When does the bakery open?", "--model", str(smollm_path), "--json"]) == 0
    assert attempts == []
