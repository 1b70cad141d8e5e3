"""What the server's records say of its printers reaches the ports that print on them (issue
21): a raw printer's record (colour, duplex, paper, PJL) is what its direct port presents, a
change by the admin follows, and a pull port presents what any of its printers offers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.waiting import wait_for
from tests.capable_printers import DuplexColourPrinter, duplex_colour_printer
from tests.peers import printer_attributes


@pytest.fixture
def colour_printer(tmp_path: Path) -> Iterator[DuplexColourPrinter]:
    yield from duplex_colour_printer(tmp_path / "colour")


def admin_cli(cloud, *args: str) -> None:
    result = cloud.cli(*args)
    assert result.returncode == 0, result.stderr


def test_ports_present_what_the_servers_printer_records_say(
    online_client, cloud, raw_printer, colour_printer
):
    admin_cli(cloud, "printer", "add", "floor2", "--host", "127.0.0.1",
              "--port", str(raw_printer.port), "--protocol", "raw", "--duplex", "--pjl",
              "--media", "iso_a4_210x297mm", "--media", "iso_a5_148x210mm")  # fmt: skip
    admin_cli(cloud, "printer", "add", "colour", "--host", "127.0.0.1", "--port",
              str(colour_printer.port), "--protocol", "ipp", "--path", "/ipp/print")  # fmt: skip
    admin_cli(cloud, "port", "add", "front", "--kind", "direct", "--printer", "floor2")
    admin_cli(cloud, "port", "add", "secure", "--kind", "pull",
              "--printer", "floor2", "--printer", "colour")  # fmt: skip
    client = online_client([])

    def presented(name: str) -> dict[str, list[object]]:
        return printer_attributes(f"ipp://127.0.0.1:{client.spooler_port}/printers/{name}")

    def sides(name: str) -> list[object] | None:
        return presented(name).get("sides-supported")

    wait_for(lambda: "two-sided-long-edge" in (sides("front") or []), 60, "front's duplex")
    front = presented("front")
    assert front["copies-supported"] == [(1, 999)]
    assert front["media-supported"] == ["iso_a4_210x297mm", "iso_a5_148x210mm"]
    assert front["color-supported"] == [False]

    wait_for(lambda: presented("secure").get("color-supported") == [True], 60, "the union")
    secure = presented("secure")
    assert "two-sided-short-edge" in secure["sides-supported"]
    assert {"iso_a5_148x210mm", "na_letter_8.5x11in"} <= set(secure["media-supported"])

    with cloud.admin() as admin:  # REST, which tells the channel at once (the CLI: next tick)
        admin.patch("/api/v1/admin/printers/floor2", json={"duplex": False}).raise_for_status()
    wait_for(lambda: sides("front") == ["one-sided"], 60, "the admin's change to arrive")
