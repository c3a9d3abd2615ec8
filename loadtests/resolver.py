"""An IP-literal host's address without a hop to a resolver thread.

Every replayed session is a new Locust user with its own connection (as a new teacher's browser
would open one), and geventhttpclient looks the host up for every new connection. gevent's
default resolver runs each lookup in its thread pool, even for a host such as ``127.0.0.1``
that needs none: a thread hand-off and wake-up per session, 46 µs of CPU a lookup against 3 µs
in place (about 2 µs a request at bench/bench_loadtest.py's 21 requests a teacher session;
docs/loadtests.md, "The generator's CPU per request"). On a machine the generator shares with
the server it load-tests, that CPU is background the measured server pays for.

``install()`` wraps the hub's resolver so that an IP-literal host is answered in place by the
C library with ``AI_NUMERICHOST`` (no lookup, so nothing that could block the hub), giving the
same addresses the thread would have returned; a host name still goes to gevent's resolver as
before. Connections, requests and their timing are unchanged.
"""

from __future__ import annotations

import _socket
import ipaddress
from functools import lru_cache
from typing import Any

import gevent


class LiteralFirst:
    """The hub's resolver, with IP-literal hosts answered without it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's names)
        if is_ip_literal(host):
            return _socket.getaddrinfo(host, port, family, type, proto, flags | _socket.AI_NUMERICHOST)
        return self.inner.getaddrinfo(host, port, family, type, proto, flags)

    def __getattr__(self, name: str) -> Any:  # every other lookup, and close(), as before
        return getattr(self.inner, name)


@lru_cache(maxsize=64)
def is_ip_literal(host: object) -> bool:
    """True for an IPv4 or IPv6 address written out (``127.0.0.1``, ``::1``), not a name."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def install() -> None:
    """Wrap the current thread's hub resolver (once)."""
    hub = gevent.get_hub()
    if not isinstance(hub.resolver, LiteralFirst):
        hub.resolver = LiteralFirst(hub.resolver)
