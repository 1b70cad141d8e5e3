"""A job's options against what a printer offers (services/core/options.py), and their
encoding in jobs.options (capabilities.encode_attributes)."""

from __future__ import annotations

from services.core import capabilities, options
from services.core.capabilities import A4, decode_attributes, encode_attributes
from services.core.ipp import Attribute, Group, Tag

A5 = "iso_a5_148x210mm"
OFFERED = capabilities.for_raw(color=True, duplex=True, media=[A4, A5], pjl=True).attributes


def attr(name: str, tag: int, *values: object) -> Attribute:
    return Attribute(name, tag, list(values))


def size(x: int, y: int) -> dict[str, tuple[int, list[object]]]:
    return {"x-dimension": (Tag.INTEGER, [x]), "y-dimension": (Tag.INTEGER, [y])}


def test_values_the_printer_offers_fit():
    assert options.fits(attr("copies", Tag.INTEGER, 2), OFFERED)
    assert options.fits(attr("sides", Tag.KEYWORD, "two-sided-long-edge"), OFFERED)
    assert options.fits(attr("media", Tag.KEYWORD, A5), OFFERED)
    assert options.fits(attr("print-color-mode", Tag.KEYWORD, "color"), OFFERED)


def test_values_out_of_range_unknown_or_in_the_wrong_syntax_do_not():
    assert not options.fits(attr("copies", Tag.INTEGER, 0), OFFERED)
    assert not options.fits(attr("copies", Tag.KEYWORD, "2"), OFFERED)
    assert not options.fits(attr("copies", Tag.INTEGER, 1, 2), OFFERED)
    assert not options.fits(attr("sides", Tag.KEYWORD, "bogus"), OFFERED)
    assert not options.fits(attr("media", Tag.KEYWORD, "iso_a3_297x420mm"), OFFERED)
    # page-ranges-supported is false, and there is no output-bin-supported at all.
    assert not options.fits(attr("page-ranges", Tag.RANGE, (1, 2)), OFFERED)
    assert not options.fits(attr("output-bin", Tag.KEYWORD, "top"), OFFERED)


def test_media_col_fits_by_its_size_among_media_size_supported():
    offered = dict(OFFERED)
    offered["media-col-supported"] = attr("media-col-supported", Tag.KEYWORD, "media-size")
    offered["media-size-supported"] = attr(
        "media-size-supported", Tag.BEGIN_COLLECTION, size(14800, 21000), size(21000, 29700)
    )
    a5 = {"media-size": (Tag.BEGIN_COLLECTION, [size(14800, 21000)])}
    a3 = {"media-size": (Tag.BEGIN_COLLECTION, [size(29700, 42000)])}
    source = {"media-source": (Tag.KEYWORD, ["tray-9"])}

    assert options.fits(attr("media-col", Tag.BEGIN_COLLECTION, a5), offered)
    assert not options.fits(attr("media-col", Tag.BEGIN_COLLECTION, a3), offered)
    assert not options.fits(attr("media-col", Tag.BEGIN_COLLECTION, source), offered)
    assert options.describe(attr("media-col", Tag.BEGIN_COLLECTION, a5)) == "media-col 148x210 mm"


def test_options_keep_their_tags_through_the_store_encoding():
    col = {"media-size": (Tag.BEGIN_COLLECTION, [size(14800, 21000)])}
    kept = Group(Tag.JOB)
    kept.add("copies", Tag.INTEGER, 2)
    kept.add("media", Tag.NAME, "custom paper")
    kept.add("media-col", Tag.BEGIN_COLLECTION, col)
    kept.add("page-ranges", Tag.RANGE, (1, 2), (5, 5))
    kept.add("printer-resolution", Tag.RESOLUTION, (600, 600, 3))

    assert decode_attributes(encode_attributes(kept.attributes)) == kept.attributes
    assert decode_attributes(None) == {}


def test_paper_named_the_old_way_is_the_pwg_paper_the_printer_lists():
    """CUPS's ipp backend passes ``lp -o media=A5`` on as "A5" to a port without media-col:
    the same sheet as iso_a5_148x210mm, so it is taken as that, not dropped."""
    for old in ("A5", "a5", "iso-a5"):
        named = options.pwg_media(attr("media", Tag.KEYWORD, old), OFFERED)
        assert (named.tag, named.values) == (Tag.KEYWORD, [A5])
        assert options.fits(named, OFFERED)
    # A paper the printer does not list stays as it came, and so still does not fit.
    a3 = options.pwg_media(attr("media", Tag.KEYWORD, "A3"), OFFERED)
    assert a3.values == ["A3"] and not options.fits(a3, OFFERED)
    # Other attributes are left alone.
    sides = attr("sides", Tag.KEYWORD, "a5")
    assert options.pwg_media(sides, OFFERED) is sides
