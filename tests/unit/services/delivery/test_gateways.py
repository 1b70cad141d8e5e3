"""Which gateways an upload tries, in order (issue 22, finding 5): the same list of servers
the channel uses, unless an admin named the gateway itself."""

from __future__ import annotations

from services.core.config import Settings
from services.delivery.destination import gateways


def test_each_listed_server_gives_its_gateway_in_the_lists_order() -> None:
    settings = Settings(servers=["https://a.example", "https://b.example:8443"])
    assert gateways(settings) == ["a.example:7300", "b.example:7300"]


def test_the_older_secondary_server_gives_the_second_gateway() -> None:
    settings = Settings(server_url="https://a.example", secondary_server_url="https://b.example")
    assert gateways(settings) == ["a.example:7300", "b.example:7300"]


def test_a_named_gateway_comes_first_and_its_secondary_after() -> None:
    settings = Settings(
        servers=["https://a.example", "https://b.example"],
        gateway="proxy.example:7300",
        secondary_gateway="b.example:7300",
    )
    assert gateways(settings) == ["proxy.example:7300", "b.example:7300"]
    assert gateways(Settings(gateway="g.example:7300", secondary_gateway="g.example:7300")) == [
        "g.example:7300"
    ]
