"""What a port presents of its printer (issue 21): a direct port answers Get-Printer-Attributes
with what its IPP printer can do, read by sync and cached in the store, while the port's
identity stays ours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.client import Client, start_ipp_client
from support.waiting import wait_for
from tests.capable_printers import DuplexColourPrinter, duplex_colour_printer
from tests.peers import printer_attributes


@pytest.fixture
def colour_printer(tmp_path: Path) -> Iterator[DuplexColourPrinter]:
    yield from duplex_colour_printer(tmp_path / "colour")


def port_uri(client: Client, name: str) -> str:
    return f"ipp://127.0.0.1:{client.spooler_port}/printers/{name}"


def presented(client: Client, name: str) -> dict[str, list[object]]:
    return printer_attributes(port_uri(client, name))


def wait_presenting(client: Client, name: str, attribute: str, values: list[object]) -> None:
    wait_for(
        lambda: presented(client, name).get(attribute) == values,
        30,
        f"{name} to present {attribute} = {values}",
    )


def test_a_direct_port_presents_its_ipp_printers_capabilities(make_client, colour_printer):
    client = start_ipp_client(make_client, "colour", colour_printer.port)

    wait_presenting(client, "colour", "copies-supported", [(1, 999)])
    attrs = presented(client, "colour")
    assert "two-sided-long-edge" in attrs["sides-supported"]
    assert attrs["color-supported"] == [True]
    # ippeveprinter says "auto"; a colour printer is presented as printing colour by default.
    assert attrs["print-color-mode-default"] == ["color"]
    assert "iso_a5_148x210mm" in attrs["media-supported"]
    assert attrs["media-col-database"]
    # The port is still ours, not the printer's.
    assert attrs["printer-uri-supported"] == [port_uri(client, "colour")]
    assert attrs["printer-name"] == ["colour"]
    own = printer_attributes(f"ipp://127.0.0.1:{colour_printer.port}/ipp/print")
    assert attrs["printer-uuid"] != own["printer-uuid"]
    assert "pullprint" in str(attrs["printer-info"][0])


def test_cached_capabilities_outlive_the_printer_and_a_restart(make_client, colour_printer):
    client = start_ipp_client(make_client, "colour", colour_printer.port)
    wait_presenting(client, "colour", "copies-supported", [(1, 999)])

    colour_printer.stop()
    client.restart("sync")
    client.restart("spooler")
    sync_log = client.root / "log" / "sync.log"
    wait_for(lambda: "capabilities.unreadable" in sync_log.read_text(), 30, "sync to miss it")
    client.wait_printer("colour")

    assert client.run_cli("sync", "--wait").returncode == 0  # a second sync, same silence
    attrs = presented(client, "colour")
    assert attrs["copies-supported"] == [(1, 999)]
    assert "iso_a5_148x210mm" in attrs["media-supported"]
    assert sync_log.read_text().count("capabilities.unreadable") == 1


def test_a_raw_printer_presents_what_its_config_entry_says(make_client, raw_printer):
    printer = {"name": "floor2", "kind": "direct", "port": raw_printer.port, "protocol": "raw",
               "color": True, "duplex": True, "media": ["iso_a4_210x297mm", "iso_a5_148x210mm"],
               "media_default": "iso_a5_148x210mm", "resolution": 1200, "pjl": True}  # fmt: skip
    client = make_client([printer])
    client.start("sync", "spooler")
    client.wait_printer("floor2")

    wait_presenting(client, "floor2", "media-default", ["iso_a5_148x210mm"])
    attrs = presented(client, "floor2")
    assert attrs["copies-supported"] == [(1, 999)]
    assert "two-sided-long-edge" in attrs["sides-supported"]
    assert attrs["print-color-mode-supported"] == ["color", "monochrome"]
    assert attrs["media-supported"] == ["iso_a4_210x297mm", "iso_a5_148x210mm"]
    assert attrs["printer-resolution-default"] == [(1200, 1200, 3)]


def test_a_pull_port_presents_what_any_of_its_printers_offers(
    make_client, raw_printer, colour_printer
):
    printers = [
        {"name": "mono", "kind": "direct", "port": raw_printer.port, "protocol": "raw"},
        {"name": "colour", "kind": "direct", "port": colour_printer.port, "protocol": "ipp",
         "path": "/ipp/print"},
        {"name": "follow-me", "kind": "pull"},
    ]  # fmt: skip
    client = make_client(printers)
    client.start("sync", "spooler")
    client.wait_printer("follow-me")

    wait_presenting(client, "follow-me", "copies-supported", [(1, 999)])
    attrs = presented(client, "follow-me")
    assert "two-sided-long-edge" in attrs["sides-supported"]
    assert attrs["color-supported"] == [True]
    assert {"iso_a5_148x210mm", "na_letter_8.5x11in"} <= set(attrs["media-supported"])
    assert attrs["media-col-database"]
    assert attrs["printer-name"] == ["follow-me"]
    # The raw printer alone still offers only what it does.
    assert presented(client, "mono")["copies-supported"] == [(1, 1)]
