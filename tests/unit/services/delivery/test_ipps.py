"""Where an IPP printer offers IPPS: read from its own ipps:// URI, at the address we use."""

from __future__ import annotations

from services.delivery.ipps import offered


def test_the_ipps_uri_for_our_path_wins_and_its_port_is_taken():
    uris = ("ipps://printer.local:8443/other", "ipps://printer.local:443/ipp/print")
    assert offered(uris, 631, "/ipp/print") == (443, "/ipp/print")


def test_an_ipps_uri_without_a_port_means_631():
    assert offered(("ipps://printer.local/ipp/print",), 8631, "/ipp/print") == (631, "/ipp/print")


def test_a_port_that_is_not_a_number_keeps_the_printers_own():
    assert offered(("ipps://printer.local:lots/ipp/print",), 8631, "/x") == (8631, "/ipp/print")
