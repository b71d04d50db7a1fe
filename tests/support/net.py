"""A TCP port on 127.0.0.1 that nothing listens on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the OS just handed out and took back: free for a private server to bind, and
    closed for a client (an "unreachable database" that fails fast, with no firewall wait)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
