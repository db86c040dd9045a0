"""Index + ask with every non-loopback connection refused: none may even be attempted."""
from __future__ import annotations

import pytest

from app.cli.selftest import refuse_network
from tests.docs_factory import make_mixed_folder


@pytest.mark.slow
def test_index_and_ask_make_no_network_connections(home, tmp_path, smollm_path):
    attempts: list[str] = []
    from app import cli

    make_mixed_folder(tmp_path / "docs")
    # The frozen app's --self-test refuses the network with the same guard.
    with refuse_network(attempts):
        assert cli.main(["index", str(tmp_path / "docs"), "--quiet"]) == 0
        assert cli.main(["ask", "When does the bakery open?", "--model", str(smollm_path), "--json"]) == 0
    assert attempts == []


def test_the_guard_refuses_and_records_outside_addresses() -> None:
    import socket

    attempts: list[str] = []
    with refuse_network(attempts):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("203.0.113.9", 80), timeout=1)
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.invalid", 80)
    assert len(attempts) == 2 and "203.0.113.9" in attempts[0] and "example.invalid" in attempts[1]
