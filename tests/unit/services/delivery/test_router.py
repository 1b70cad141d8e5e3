"""Every combination of the route choice, as a table."""

from __future__ import annotations

import itertools

import pytest

from services.delivery.router import Route, choose

D, V, G, W = Route.DIRECT, Route.VIA_SERVER, Route.GATEWAY, Route.WAIT

# (mode, switch, kind, reachable, has_server) -> route
TABLE = {
    ("local", "local", "direct", True, True): D,
    ("local", "local", "direct", True, False): D,
    ("local", "local", "direct", False, True): V,
    ("local", "local", "direct", False, False): W,
    ("local", "local", "pull", True, True): D,  # a released pull job
    ("local", "local", "pull", True, False): D,
    ("local", "local", "pull", False, True): V,
    ("local", "local", "pull", False, False): W,
    ("hybrid", "local", "direct", True, True): D,
    ("hybrid", "local", "direct", True, False): D,
    ("hybrid", "local", "direct", False, True): V,
    ("hybrid", "local", "direct", False, False): W,
    ("hybrid", "local", "pull", True, True): G,
    ("hybrid", "local", "pull", True, False): G,
    ("hybrid", "local", "pull", False, True): G,
    ("hybrid", "local", "pull", False, False): G,
}
# The switch only means something in local mode; gateway mode uploads everything.
for kind, reachable, server in itertools.product(("direct", "pull"), (True, False), (True, False)):
    TABLE[("local", "gateway", kind, reachable, server)] = G
    TABLE[("gateway", "local", kind, reachable, server)] = G
    TABLE[("gateway", "gateway", kind, reachable, server)] = G
    TABLE[("hybrid", "gateway", kind, reachable, server)] = TABLE[
        ("hybrid", "local", kind, reachable, server)
    ]


def test_table_covers_every_combination():
    every = set(
        itertools.product(
            ("local", "gateway", "hybrid"),
            ("local", "gateway"),
            ("direct", "pull"),
            (True, False),
            (True, False),
        )
    )
    assert set(TABLE) == every


@pytest.mark.parametrize(("case", "route"), sorted(TABLE.items()))
def test_route(case, route):
    assert choose(*case) == route
