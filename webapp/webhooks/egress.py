"""Outbound webhook requests that cannot be steered to private addresses.

An endpoint's URL is checked when it is registered, but its DNS can change afterwards -- or
answer differently from one lookup to the next (DNS rebinding). So every delivery resolves the
host once, refuses private, loopback and link-local answers (unless ``WEBHOOK_ALLOW_PRIVATE``),
and connects to the very address it checked: the URL's host is replaced by that address, the
name is kept in the ``Host`` header and, for https, in SNI and certificate verification.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx


class EgressRefused(ValueError):
    """The URL's host does not resolve, or resolves to an address we may not call."""


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def resolve(hostname: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to; every address the name resolves to must be public."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except OSError:
        raise EgressRefused("'url' host does not resolve.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise EgressRefused("'url' host does not resolve.")
    if not allow_private and any(not address.is_global for address in addresses):
        raise EgressRefused("'url' resolves to a private or loopback address.")
    return str(addresses[0])


def post(
    url: str, *, content: str, headers: dict[str, str], timeout: float, allow_private: bool
) -> httpx.Response:
    """POST ``content`` to ``url`` through the address :func:`resolve` checked; no redirects.

    Raises :class:`EgressRefused` before any connection is made, or ``httpx.HTTPError``.
    """
    parts = urlsplit(url)
    port = default_port(parts)
    address = resolve(parts.hostname or "", port, allow_private=allow_private)
    host = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        request = client.build_request(
            "POST",
            pinned,
            content=content,
            headers={**headers, "Host": parts.netloc},
            extensions=extensions,
        )
        return client.send(request)
