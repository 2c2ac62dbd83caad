"""crawler.addresses: the address classes, and what the address guard allows."""

from __future__ import annotations

import ipaddress

import pytest

from crawler.addresses import GUARD_DEFAULT, NEVER_ALLOWED, AddressClass, AddressGuard, classify

LINK_LOCAL = AddressClass.LINK_LOCAL
MULTICAST = AddressClass.MULTICAST
UNSPECIFIED = AddressClass.UNSPECIFIED
BROADCAST = AddressClass.BROADCAST
RESERVED = AddressClass.RESERVED
LOOPBACK = AddressClass.LOOPBACK
PRIVATE = AddressClass.PRIVATE
GLOBAL = AddressClass.GLOBAL

# (address, class): first and last address of every range and the neighbours just outside.
IPV4_BOUNDARIES = [
    # 0.0.0.0 is unspecified; the rest of "this network" 0.0.0.0/8 is reserved.
    ("0.0.0.0", UNSPECIFIED),
    ("0.0.0.1", RESERVED),
    ("0.255.255.255", RESERVED),
    ("1.0.0.0", GLOBAL),
    # private 10.0.0.0/8
    ("9.255.255.255", GLOBAL),
    ("10.0.0.0", PRIVATE),
    ("10.0.0.5", PRIVATE),
    ("10.255.255.255", PRIVATE),
    ("11.0.0.0", GLOBAL),
    # private 100.64.0.0/10 (carrier-grade NAT; Python's is_private leaves it out)
    ("100.63.255.255", GLOBAL),
    ("100.64.0.0", PRIVATE),
    ("100.64.0.1", PRIVATE),
    ("100.127.255.255", PRIVATE),
    ("100.128.0.0", GLOBAL),
    ("100.128.0.1", GLOBAL),
    # loopback 127.0.0.0/8
    ("126.255.255.255", GLOBAL),
    ("127.0.0.0", LOOPBACK),
    ("127.0.0.1", LOOPBACK),
    ("127.255.255.254", LOOPBACK),
    ("127.255.255.255", LOOPBACK),
    ("128.0.0.0", GLOBAL),
    # link-local 169.254.0.0/16 (Python's is_private includes it; the contract does not)
    ("169.253.255.255", GLOBAL),
    ("169.254.0.0", LINK_LOCAL),
    ("169.254.169.254", LINK_LOCAL),
    ("169.254.255.255", LINK_LOCAL),
    ("169.255.0.0", GLOBAL),
    # private 172.16.0.0/12
    ("172.15.255.255", GLOBAL),
    ("172.16.0.0", PRIVATE),
    ("172.16.0.1", PRIVATE),
    ("172.31.255.255", PRIVATE),
    ("172.32.0.0", GLOBAL),
    ("172.32.0.1", GLOBAL),
    # reserved 192.0.0.0/24 (IETF protocol assignments), whole block on every Python
    ("191.255.255.255", GLOBAL),
    ("192.0.0.0", RESERVED),
    ("192.0.0.8", RESERVED),
    ("192.0.0.9", RESERVED),
    ("192.0.0.255", RESERVED),
    ("192.0.1.0", GLOBAL),
    # reserved 192.0.2.0/24 (TEST-NET-1)
    ("192.0.2.0", RESERVED),
    ("192.0.2.1", RESERVED),
    ("192.0.2.255", RESERVED),
    ("192.0.3.0", GLOBAL),
    # private 192.168.0.0/16
    ("192.167.255.255", GLOBAL),
    ("192.168.0.0", PRIVATE),
    ("192.168.1.1", PRIVATE),
    ("192.168.255.255", PRIVATE),
    ("192.169.0.0", GLOBAL),
    # reserved 198.18.0.0/15 (benchmarking)
    ("198.17.255.255", GLOBAL),
    ("198.18.0.0", RESERVED),
    ("198.18.0.1", RESERVED),
    ("198.19.255.255", RESERVED),
    ("198.20.0.0", GLOBAL),
    # reserved 198.51.100.0/24 and 203.0.113.0/24 (TEST-NET-2, TEST-NET-3)
    ("198.51.99.255", GLOBAL),
    ("198.51.100.0", RESERVED),
    ("198.51.100.255", RESERVED),
    ("198.51.101.0", GLOBAL),
    ("203.0.112.255", GLOBAL),
    ("203.0.113.0", RESERVED),
    ("203.0.113.255", RESERVED),
    ("203.0.114.0", GLOBAL),
    # multicast 224.0.0.0/4
    ("223.255.255.255", GLOBAL),
    ("224.0.0.0", MULTICAST),
    ("224.0.0.1", MULTICAST),
    ("239.255.255.255", MULTICAST),
    # reserved 240.0.0.0/4, then the one broadcast address
    ("240.0.0.0", RESERVED),
    ("240.0.0.1", RESERVED),
    ("255.255.255.254", RESERVED),
    ("255.255.255.255", BROADCAST),
    # plain global
    ("8.8.8.8", GLOBAL),
    ("1.1.1.1", GLOBAL),
]

IPV6_CASES = [
    # unspecified and loopback, plain and bracketed as in a URL
    ("::", UNSPECIFIED),
    ("[::]", UNSPECIFIED),
    ("::1", LOOPBACK),
    ("[::1]", LOOPBACK),
    ("0:0:0:0:0:0:0:1", LOOPBACK),
    ("::1%lo", LOOPBACK),
    # link-local fe80::/10, with and without a zone id
    ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RESERVED),
    ("fe80::", LINK_LOCAL),
    ("fe80::1", LINK_LOCAL),
    ("fe80::1%lo", LINK_LOCAL),
    ("fe80::1%eth0", LINK_LOCAL),
    ("[fe80::1%eth0]", LINK_LOCAL),
    ("FE80::1", LINK_LOCAL),
    ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LINK_LOCAL),
    # site-local fec0::/10 is deprecated and outside 2000::/3: reserved, not global
    ("fec0::1", RESERVED),
    # private fc00::/7
    ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RESERVED),
    ("fc00::", PRIVATE),
    ("fc00::1", PRIVATE),
    ("fd12::1", PRIVATE),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PRIVATE),
    # multicast ff00::/8
    ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RESERVED),
    ("ff00::", MULTICAST),
    ("ff02::1", MULTICAST),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MULTICAST),
    # reserved: documentation, discard, Teredo, local-use NAT64, outside 2000::/3
    ("2001:db8::", RESERVED),
    ("2001:db8::1", RESERVED),
    ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", RESERVED),
    ("2001:db9::1", GLOBAL),
    ("3fff::1", RESERVED),
    ("100::1", RESERVED),
    ("2001::1", RESERVED),
    ("64:ff9b:1::1", RESERVED),
    ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RESERVED),
    ("4000::1", RESERVED),
    ("::ffff:0:a9fe:a9fe", RESERVED),
    # global
    ("2000::", GLOBAL),
    ("2606:4700::1111", GLOBAL),
    ("[2606:4700::1111]", GLOBAL),
    ("2a00:1450:4001:82a::200e", GLOBAL),
]

# IPv6 addresses that carry an IPv4 address are judged by it: (address, class, the IPv4).
EMBEDDED_CASES = [
    # IPv4-mapped ::ffff:0:0/96, in dotted and hex spelling
    ("::ffff:169.254.169.254", LINK_LOCAL, "169.254.169.254"),
    ("::ffff:a9fe:a9fe", LINK_LOCAL, "169.254.169.254"),
    ("[::ffff:169.254.169.254]", LINK_LOCAL, "169.254.169.254"),
    ("::ffff:10.0.0.5", PRIVATE, "10.0.0.5"),
    ("::ffff:127.0.0.1", LOOPBACK, "127.0.0.1"),
    ("::ffff:0.0.0.0", UNSPECIFIED, "0.0.0.0"),
    ("::ffff:255.255.255.255", BROADCAST, "255.255.255.255"),
    ("::ffff:224.0.0.1", MULTICAST, "224.0.0.1"),
    ("::ffff:192.0.2.1", RESERVED, "192.0.2.1"),
    ("::ffff:8.8.8.8", GLOBAL, "8.8.8.8"),
    # IPv4-compatible ::/96 (deprecated), apart from :: and ::1
    ("::169.254.169.254", LINK_LOCAL, "169.254.169.254"),
    ("::10.0.0.5", PRIVATE, "10.0.0.5"),
    ("::127.0.0.1", LOOPBACK, "127.0.0.1"),
    ("::0.0.0.2", RESERVED, "0.0.0.2"),
    ("::8.8.8.8", GLOBAL, "8.8.8.8"),
    # 6to4 2002::/16: the IPv4 address is bits 16..48
    ("2002:a9fe:a9fe::1", LINK_LOCAL, "169.254.169.254"),
    ("2002:0a00:0005::1", PRIVATE, "10.0.0.5"),
    ("2002:7f00:0001::", LOOPBACK, "127.0.0.1"),
    ("2002:0808:0808::1", GLOBAL, "8.8.8.8"),
    # NAT64 64:ff9b::/96: the IPv4 address is the last 32 bits
    ("64:ff9b::a9fe:a9fe", LINK_LOCAL, "169.254.169.254"),
    ("64:ff9b::169.254.169.254", LINK_LOCAL, "169.254.169.254"),
    ("64:ff9b::10.0.0.5", PRIVATE, "10.0.0.5"),
    ("64:ff9b::7f00:1", LOOPBACK, "127.0.0.1"),
    ("64:ff9b::8.8.8.8", GLOBAL, "8.8.8.8"),
]

GARBAGE = [
    "",
    "example.com",
    "localhost",
    "256.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4%eth0",
    "[1.2.3.4]",
    "[::1",
    "::1]",
    "fe80::1%",
    ":::1",
    "fe80::g",
    " 8.8.8.8",
    "8.8.8.8/32",
    "http://8.8.8.8/",
]


@pytest.mark.parametrize(("address", "expected"), IPV4_BOUNDARIES)
def test_classify_ipv4(address: str, expected: AddressClass) -> None:
    assert classify(address) is expected


@pytest.mark.parametrize(("address", "expected"), IPV6_CASES)
def test_classify_ipv6(address: str, expected: AddressClass) -> None:
    assert classify(address) is expected


@pytest.mark.parametrize(("address", "expected", "ipv4"), EMBEDDED_CASES)
def test_embedded_ipv4_is_judged_by_the_ipv4_inside(
    address: str, expected: AddressClass, ipv4: str
) -> None:
    assert classify(address) is expected
    assert classify(ipv4) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (ipaddress.IPv4Address("169.254.169.254"), LINK_LOCAL),
        (ipaddress.IPv4Address("8.8.8.8"), GLOBAL),
        (ipaddress.IPv6Address("::1"), LOOPBACK),
        (ipaddress.IPv6Address("fe80::1%eth0"), LINK_LOCAL),
        (ipaddress.IPv6Address("::ffff:10.0.0.5"), PRIVATE),
    ],
)
def test_classify_accepts_address_objects(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, expected: AddressClass
) -> None:
    assert classify(address) is expected


@pytest.mark.parametrize("garbage", GARBAGE)
def test_classify_rejects_what_is_not_an_ip_address(garbage: str) -> None:
    with pytest.raises(ValueError):
        classify(garbage)


# --- the guard --------------------------------------------------------------------------

WITH_LOOPBACK = AddressGuard(frozenset({GLOBAL, LOOPBACK}))
WITH_PRIVATE = AddressGuard(frozenset({GLOBAL, PRIVATE}))
WITH_BOTH = AddressGuard(frozenset({GLOBAL, LOOPBACK, PRIVATE}))


@pytest.mark.parametrize(
    ("guard", "address", "refusal"),
    [
        (GUARD_DEFAULT, "8.8.8.8", None),
        (GUARD_DEFAULT, "2606:4700::1111", None),
        (GUARD_DEFAULT, "::ffff:8.8.8.8", None),
        (GUARD_DEFAULT, "64:ff9b::8.8.8.8", None),
        (GUARD_DEFAULT, "127.0.0.1", "127.0.0.1 is loopback"),
        (GUARD_DEFAULT, "::1", "::1 is loopback"),
        (GUARD_DEFAULT, "10.0.0.5", "10.0.0.5 is private"),
        (GUARD_DEFAULT, "100.64.0.1", "100.64.0.1 is private"),
        (GUARD_DEFAULT, "fd12::1", "fd12::1 is private"),
        (GUARD_DEFAULT, "169.254.169.254", "169.254.169.254 is link-local"),
        (GUARD_DEFAULT, "224.0.0.1", "224.0.0.1 is multicast"),
        (GUARD_DEFAULT, "0.0.0.0", "0.0.0.0 is unspecified"),
        (GUARD_DEFAULT, "::", ":: is unspecified"),
        (GUARD_DEFAULT, "255.255.255.255", "255.255.255.255 is broadcast"),
        (GUARD_DEFAULT, "198.18.0.1", "198.18.0.1 is reserved"),
        (GUARD_DEFAULT, "2001:db8::1", "2001:db8::1 is reserved"),
        (WITH_LOOPBACK, "127.0.0.1", None),
        (WITH_LOOPBACK, "::1", None),
        (WITH_LOOPBACK, "[::1]", None),
        (WITH_LOOPBACK, "::ffff:127.0.0.1", None),
        (WITH_LOOPBACK, "10.0.0.5", "10.0.0.5 is private"),
        (WITH_LOOPBACK, "8.8.8.8", None),
        (WITH_PRIVATE, "10.0.0.5", None),
        (WITH_PRIVATE, "172.31.255.255", None),
        (WITH_PRIVATE, "fc00::1", None),
        (WITH_PRIVATE, "127.0.0.1", "127.0.0.1 is loopback"),
        (WITH_BOTH, "127.0.0.1", None),
        (WITH_BOTH, "192.168.1.1", None),
        # granting loopback and private never opens a never-allowed class
        (WITH_BOTH, "169.254.169.254", "169.254.169.254 is link-local"),
        (WITH_BOTH, "fe80::1%eth0", "fe80::1%eth0 is link-local"),
        (WITH_BOTH, "ff02::1", "ff02::1 is multicast"),
        (WITH_BOTH, "0.0.0.0", "0.0.0.0 is unspecified"),
        (WITH_BOTH, "0.1.2.3", "0.1.2.3 is reserved"),
        (WITH_BOTH, "255.255.255.255", "255.255.255.255 is broadcast"),
        (WITH_BOTH, "240.0.0.1", "240.0.0.1 is reserved"),
        # an embedded IPv4 address is named beside the address as given
        (
            WITH_BOTH,
            "::ffff:169.254.169.254",
            "::ffff:169.254.169.254 (169.254.169.254) is link-local",
        ),
        (WITH_BOTH, "::ffff:a9fe:a9fe", "::ffff:a9fe:a9fe (169.254.169.254) is link-local"),
        (WITH_BOTH, "::169.254.169.254", "::169.254.169.254 (169.254.169.254) is link-local"),
        (WITH_BOTH, "2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 (169.254.169.254) is link-local"),
        (WITH_BOTH, "64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe (169.254.169.254) is link-local"),
        (GUARD_DEFAULT, "::ffff:10.0.0.5", "::ffff:10.0.0.5 (10.0.0.5) is private"),
        (GUARD_DEFAULT, "2002:0a00:0005::1", "2002:0a00:0005::1 (10.0.0.5) is private"),
        (GUARD_DEFAULT, "::ffff:127.0.0.1", "::ffff:127.0.0.1 (127.0.0.1) is loopback"),
    ],
)
def test_guard_decides_one_address(guard: AddressGuard, address: str, refusal: str | None) -> None:
    assert guard.refusal([address]) == refusal


@pytest.mark.parametrize(
    ("guard", "addresses", "refusal"),
    [
        (GUARD_DEFAULT, [], None),
        (GUARD_DEFAULT, ["8.8.8.8", "1.1.1.1", "2606:4700::1111"], None),
        # one refused address refuses the whole name, wherever it stands
        (GUARD_DEFAULT, ["8.8.8.8", "169.254.169.254"], "169.254.169.254 is link-local"),
        (GUARD_DEFAULT, ["169.254.169.254", "8.8.8.8"], "169.254.169.254 is link-local"),
        (GUARD_DEFAULT, ["2606:4700::1111", "8.8.8.8", "::1"], "::1 is loopback"),
        # the first refused one is named
        (GUARD_DEFAULT, ["8.8.8.8", "10.0.0.5", "127.0.0.1"], "10.0.0.5 is private"),
        (WITH_PRIVATE, ["10.0.0.5", "127.0.0.1", "0.0.0.0"], "127.0.0.1 is loopback"),
        (WITH_BOTH, ["127.0.0.1", "::1", "10.0.0.5", "8.8.8.8"], None),
        (WITH_BOTH, ["127.0.0.1", "fe80::1%lo"], "fe80::1%lo is link-local"),
    ],
)
def test_guard_refuses_a_name_if_any_address_is_refused(
    guard: AddressGuard, addresses: list[str], refusal: str | None
) -> None:
    assert guard.refusal(addresses) == refusal


def test_guard_takes_any_iterable_and_address_objects() -> None:
    addresses = (ipaddress.ip_address(text) for text in ["8.8.8.8", "169.254.169.254"])
    assert GUARD_DEFAULT.refusal(addresses) == "169.254.169.254 is link-local"


def test_guard_raises_on_garbage_rather_than_allowing_it() -> None:
    with pytest.raises(ValueError):
        GUARD_DEFAULT.refusal(["8.8.8.8", "not-an-address"])


@pytest.mark.parametrize(
    ("seed_classes", "allow_private", "allowed"),
    [
        ([], False, {GLOBAL}),
        ([GLOBAL], False, {GLOBAL}),
        ([LOOPBACK], False, {GLOBAL, LOOPBACK}),
        ([PRIVATE], False, {GLOBAL, PRIVATE}),
        ([GLOBAL, LOOPBACK, LOOPBACK], False, {GLOBAL, LOOPBACK}),
        ([LOOPBACK, PRIVATE], False, {GLOBAL, LOOPBACK, PRIVATE}),
        ([], True, {GLOBAL, LOOPBACK, PRIVATE}),
        ([GLOBAL], True, {GLOBAL, LOOPBACK, PRIVATE}),
        ([LOOPBACK], True, {GLOBAL, LOOPBACK, PRIVATE}),
        # a seed in a never-allowed class grants nothing (the seed itself is refused)
        ([LINK_LOCAL, MULTICAST, UNSPECIFIED, BROADCAST, RESERVED], False, {GLOBAL}),
        ([LINK_LOCAL, RESERVED], True, {GLOBAL, LOOPBACK, PRIVATE}),
    ],
)
def test_for_seeds(
    seed_classes: list[AddressClass], allow_private: bool, allowed: set[AddressClass]
) -> None:
    assert AddressGuard.for_seeds(seed_classes, allow_private).allowed == allowed


def test_for_seeds_takes_a_generator_of_seed_classes() -> None:
    seeds = (classify(address) for address in ["127.0.0.1", "8.8.8.8"])
    guard = AddressGuard.for_seeds(seeds, allow_private=False)
    assert guard.refusal(["::1"]) is None
    assert guard.refusal(["192.168.1.1"]) == "192.168.1.1 is private"


def test_default_guard_allows_only_global() -> None:
    assert GUARD_DEFAULT.allowed == {GLOBAL}
    assert AddressGuard.for_seeds([], allow_private=False) == GUARD_DEFAULT


def test_never_allowed_are_every_class_but_global_loopback_private() -> None:
    assert NEVER_ALLOWED == set(AddressClass) - {GLOBAL, LOOPBACK, PRIVATE}


@pytest.mark.parametrize("never", sorted(NEVER_ALLOWED))
def test_never_allowed_class_cannot_be_granted(never: AddressClass) -> None:
    with pytest.raises(ValueError, match=str(never)):
        AddressGuard(frozenset({GLOBAL, LOOPBACK, PRIVATE, never}))


def test_guard_always_allows_global() -> None:
    with pytest.raises(ValueError, match="global"):
        AddressGuard(frozenset({LOOPBACK}))
    with pytest.raises(ValueError, match="global"):
        AddressGuard(frozenset())


def test_guard_is_frozen() -> None:
    with pytest.raises(AttributeError):
        GUARD_DEFAULT.allowed = frozenset(AddressClass)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("address_class", "word"),
    [
        (LINK_LOCAL, "link-local"),
        (MULTICAST, "multicast"),
        (UNSPECIFIED, "unspecified"),
        (BROADCAST, "broadcast"),
        (RESERVED, "reserved"),
        (LOOPBACK, "loopback"),
        (PRIVATE, "private"),
        (GLOBAL, "global"),
    ],
)
def test_class_values_are_the_words_messages_show(address_class: AddressClass, word: str) -> None:
    assert address_class == word
    assert f"{address_class}" == word
