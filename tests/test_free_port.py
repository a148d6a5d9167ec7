"""The test servers' port picker: outside the kernel's ephemeral range, free, never handed out twice."""

from __future__ import annotations

import socket

from tests.support.servers import _ephemeral_low, free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    low = _ephemeral_low()
    if low > 20000:  # a kernel whose ephemeral range starts low leaves no room below it
        assert all(p < low for p in ports), [p for p in ports if p >= low]
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_someone_listens_on_is_never_given() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        taken = held.getsockname()[1]
        assert all(free_port(lambda p: p != taken + 1) != taken for _ in range(300))


def test_the_companion_condition_holds() -> None:
    port = free_port(lambda p: p % 7 == 3)
    assert port % 7 == 3
