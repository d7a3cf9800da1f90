"""The client address of a request: the peer, or behind trusted reverse proxies the rightmost
``X-Forwarded-For`` hop that is not one of them.

Proxies are trusted by explicit list only (``TRUSTED_PROXIES``: addresses, networks or host
names resolved at start-up; default none). A proxy such as nginx *appends* the address it saw
to whatever ``X-Forwarded-For`` the client sent (``$proxy_add_x_forwarded_for``), so only the
entries added by trusted hops are facts: walking the list from the right, past the trusted
proxies, the first other entry is the address the outermost trusted proxy saw. Entries further
left were written by the client and are ignored, so a client cannot choose its address for
the audit log or the per-address limits by sending the header. Uvicorn's own proxy-header
handling is turned off (``proxy_headers=False``): this is the only place that reads the header.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from starlette.types import Scope

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(spec: str | Iterable[str]) -> tuple[Network, ...]:
    """Networks of ``spec`` (comma-separated or a list): ``10.0.0.5``, ``10.0.0.0/24``,
    ``::1`` or a host name (every address it resolves to now). Unresolvable names are
    logged and skipped; ``*`` is refused (it would trust every client's header)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[Network] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            raise ValueError("TRUSTED_PROXIES=* would let every client choose its address")
        try:
            out.append(ipaddress.ip_network(item, strict=False))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(item, None, proto=socket.IPPROTO_TCP)
        except OSError as e:
            log.warning("trusted proxy %r does not resolve (%s): not trusted", item, e)
            continue
        for info in infos:
            out.append(ipaddress.ip_network(str(info[4][0]), strict=False))
    return tuple(dict.fromkeys(out))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    t = text.strip()
    if t.startswith("[") and "]" in t:  # [v6]:port
        t = t[1 : t.index("]")]
    elif t.count(":") == 1:  # v4:port
        t = t.split(":", 1)[0]
    try:
        return ipaddress.ip_address(t)
    except ValueError:
        return None


def _trusted(addr: str, trusted: tuple[Network, ...]) -> bool:
    ip = _ip(addr)
    return ip is not None and any(ip in n for n in trusted)


def client_address(peer: str, forwarded_for: list[bytes], trusted: tuple[Network, ...]) -> str:
    """The client address of a request from ``peer`` with these ``X-Forwarded-For`` header
    values (see the module docstring)."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for v in forwarded_for for h in v.decode("latin-1").split(",")]
    addr = peer
    for hop in reversed([h for h in hops if h]):
        ip = _ip(hop)
        if ip is None:  # garbage: the hop before it is as far as the facts go
            return addr
        addr = str(ip)
        if not any(ip in n for n in trusted):
            return addr
    return addr  # every hop a trusted proxy


class ClientAddress:
    """Sets ``scope["client"]`` to the client address before the application runs."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted

    def apply(self, scope: Scope) -> None:
        if not self.trusted or scope["type"] != "http":
            return
        client = scope.get("client")
        if not client:
            return
        xff = [v for k, v in scope["headers"] if k == b"x-forwarded-for"]
        addr = client_address(str(client[0]), xff, self.trusted)
        if addr != client[0]:
            scope["client"] = (addr, 0)
