"""The address guard (docs/contract.md#address-guard): classify an IP address, allow or refuse it.

Pure: it judges addresses that were already resolved and never resolves or connects itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(StrEnum):
    """The address classes; the values are the words that refusal messages show."""

    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    BROADCAST = "broadcast"
    RESERVED = "reserved"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    GLOBAL = "global"


NEVER_ALLOWED = frozenset(
    {
        AddressClass.LINK_LOCAL,
        AddressClass.MULTICAST,
        AddressClass.UNSPECIFIED,
        AddressClass.BROADCAST,
        AddressClass.RESERVED,
    }
)


def _networks(*networks: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network) for network in networks)


# The contract's ranges, in its order: the first match wins. Written out instead of using
# Python's is_private/is_link_local, whose meaning differs (is_private includes 169.254/16
# and excludes 100.64/10) and changes between patch releases (gh-113171).
# Only 0.0.0.0 itself is unspecified; the rest of 0.0.0.0/8 ("this network", RFC 1122
# 3.2.1.3) is reserved below: a different word in the message, equally never allowed.
_RANGES = (
    (AddressClass.LINK_LOCAL, _networks("169.254.0.0/16", "fe80::/10")),
    (AddressClass.MULTICAST, _networks("224.0.0.0/4", "ff00::/8")),
    (AddressClass.UNSPECIFIED, _networks("0.0.0.0/32", "::/128")),
    (AddressClass.BROADCAST, _networks("255.255.255.255/32")),
    (AddressClass.LOOPBACK, _networks("127.0.0.0/8", "::1/128")),
    (
        AddressClass.PRIVATE,
        _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
    ),
)

# Reserved whatever is_global says, which differs between patch releases (3.11.7 calls
# 192.0.0.8 and 3fff::1 global): "this network" 0.0.0.0/8, the IETF protocol block
# 192.0.0.0/24 and IPv6 documentation 3fff::/20 (RFC 9637).
_RESERVED = _networks("0.0.0.0/8", "192.0.0.0/24", "3fff::/20")

# IANA allocates global IPv6 unicast only from 2000::/3; outside it (site-local fec0::/10,
# local-use NAT64 64:ff9b:1::/48, ::ffff:0:0:0/96, ...) nothing is global, whatever
# is_global says.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

# NAT64 well-known prefix (RFC 6052): the IPv4 address is the last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _parse(address: str | IPAddress) -> IPAddress:
    """The address without brackets or zone id; ValueError if it is not an IP address."""
    if isinstance(address, str):
        if address.startswith("[") and address.endswith("]"):
            # Brackets only ever hold an IPv6 literal (RFC 3986 3.2.2), never IPv4.
            address = ipaddress.IPv6Address(address[1:-1])
        else:
            address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # The zone (fe80::1%eth0) picks an interface, not a range; and an address with a
        # zone never equals one without, which would break the comparisons below.
        address = ipaddress.IPv6Address(int(address))
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to this IPv6 address really goes to, if it has one.

    Without this, ::ffff:169.254.169.254 or 64:ff9b::a9fe:a9fe would reach the metadata
    service as an unremarkable IPv6 address.
    """
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002::/16, bits 16..48
        return address.sixtofour
    value = int(address)
    if address in _NAT64 or (value >> 32 == 0 and value > 1):
        # NAT64 or IPv4-compatible ::a.b.c.d (RFC 4291 2.5.5.1, deprecated but still
        # parsed); :: and ::1 are not IPv4-compatible, they are unspecified and loopback.
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def _classify_plain(address: IPAddress) -> AddressClass:
    for address_class, networks in _RANGES:
        # A network of the other IP version never contains the address.
        if any(address in network for network in networks):
            return address_class
    if any(address in network for network in _RESERVED) or not address.is_global:
        return AddressClass.RESERVED
    if address.version == 6 and address not in _IPV6_GLOBAL_UNICAST:
        return AddressClass.RESERVED
    return AddressClass.GLOBAL


def _judge(address: str | IPAddress) -> tuple[AddressClass, ipaddress.IPv4Address | None]:
    """The address's class and the embedded IPv4 address it was judged by, if any."""
    parsed = _parse(address)
    inner = _embedded_ipv4(parsed) if isinstance(parsed, ipaddress.IPv6Address) else None
    return _classify_plain(inner if inner is not None else parsed), inner


def classify(address: str | IPAddress) -> AddressClass:
    """The class of an IP address (brackets and a zone id allowed); ValueError if none."""
    return _judge(address)[0]


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Which address classes a crawl may connect to; the guard is never off."""

    allowed: frozenset[AddressClass]

    def __post_init__(self) -> None:
        if AddressClass.GLOBAL not in self.allowed:
            raise ValueError("an address guard always allows global addresses")
        never = self.allowed & NEVER_ALLOWED
        if never:
            raise ValueError(f"never allowed: {', '.join(sorted(never))}")

    @classmethod
    def for_seeds(cls, seed_classes: Iterable[AddressClass], allow_private: bool) -> AddressGuard:
        """Loopback and private each allowed when a seed's host has an address of that class
        (crawling your own localhost or intranet still works), or both with --allow-private.
        """
        seeds = frozenset(seed_classes)
        allowed = {AddressClass.GLOBAL}
        for grantable in (AddressClass.LOOPBACK, AddressClass.PRIVATE):
            if allow_private or grantable in seeds:
                allowed.add(grantable)
        return cls(frozenset(allowed))

    def refusal(self, addresses: Iterable[str | IPAddress]) -> str | None:
        """None if every address of a host is allowed, else the one-line message naming
        the first refused one: any refused address refuses the name, since the connection
        may go to any of them. ValueError if one is not an IP address.

        No addresses gives None: a name that resolves to nothing is a dns error, not ours.
        """
        for address in addresses:
            address_class, inner = _judge(address)
            if address_class not in self.allowed:
                shown = f"{address} ({inner})" if inner is not None else str(address)
                return f"{shown} is {address_class}"
        return None


GUARD_DEFAULT = AddressGuard(frozenset({AddressClass.GLOBAL}))
