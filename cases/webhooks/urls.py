"""Which URLs a webhook may call. Checked when a subscription is made and again on every delivery
(right before connecting, to the very address connected to), because a name can be pointed
elsewhere after it was checked.

Always refused: link-local addresses (169.254.0.0/16, fe80::/10, where clouds serve instance
metadata and credentials) and the other known metadata addresses. Refused unless an admin allows
them in CASEFLOW_WEBHOOK_ALLOW_NETWORKS (comma-separated CIDRs): loopback, private, shared,
reserved, multicast and unspecified addresses, that is anything not on the public internet.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NEVER = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10",  # link-local (AWS, GCP, Azure, OpenStack metadata live here)
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",  # Azure wire server
    "fd00:ec2::254/128",  # AWS metadata over IPv6
))
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.azure.internal",
                            "instance-data", "instance-data.ec2.internal"})
MAX_URL = 2000


class WebhookSettings(BaseSettings):
    """CASEFLOW_WEBHOOK_* settings, read where deliveries run (no whole Settings there)."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_WEBHOOK_", extra="ignore")

    allow_networks: str = ""  # comma-separated CIDRs, e.g. "127.0.0.1/32,10.20.0.0/16"
    max_attempts: int = 8  # 10 s, 20 s, 40 s ... about 21 minutes in all
    timeout: float = 5.0  # seconds to connect, and again to read the answer
    dispatch_every: float = 2.0  # seconds between looks at the outbox


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse comma-separated CIDRs; raise ValueError naming the bad one."""
    found = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                found.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"CASEFLOW_WEBHOOK_ALLOW_NETWORKS: '{part}' is not a CIDR"
                                 ) from None
    return tuple(found)


def allowed_networks() -> tuple[Network, ...]:
    """The networks this process's admin allows beyond the public internet."""
    return parse_networks(WebhookSettings().allow_networks)


def refusal(address: Address, allow: Iterable[Network]) -> str | None:
    """Why a webhook may not connect to this address, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in NEVER if net.version == address.version):
        return f"{address} is a link-local or cloud metadata address"
    if address.is_global and not address.is_multicast:
        return None
    if any(address in net for net in allow if net.version == address.version):
        return None
    return (f"{address} is a loopback, private or reserved address "
            "(an admin may allow its network in CASEFLOW_WEBHOOK_ALLOW_NETWORKS)")


def split(url: str) -> tuple[str, str, int]:
    """Return scheme, host and port of a webhook URL; raise InvalidInput naming `url`."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise InvalidInput({"url": f"Give a URL of at most {MAX_URL} characters"})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput({"url": "Give an http:// or https:// URL with a host name"})
    if parts.username or parts.password:
        raise InvalidInput({"url": "Put no user name or password in the URL; the signature "
                                   "authenticates Caseflow"})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput({"url": "The URL's port is not a number from 1 to 65535"}) from None
    return parts.scheme, parts.hostname.rstrip(".").lower(), port


def resolve(host: str, port: int) -> list[Address]:
    """Every address a host name stands for (the host itself when it is an address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise InvalidInput({"url": f"The host {host} cannot be resolved ({err})"}) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def check(url: str, allow: Iterable[Network] | None = None) -> tuple[str, str, int, Address]:
    """Refuse a URL a webhook may not call; return scheme, host, port and the address to use."""
    allow = tuple(allowed_networks() if allow is None else allow)
    scheme, host, port = split(url)
    if host in METADATA_NAMES or host.endswith(".internal") and host.startswith("metadata"):
        raise InvalidInput({"url": f"{host} is a cloud metadata service"})
    addresses = resolve(host, port)
    for address in addresses:
        why = refusal(address, allow)
        if why:
            raise InvalidInput({"url": f"Refused: {host} resolves to {why}"})
    return scheme, host, port, addresses[0]
