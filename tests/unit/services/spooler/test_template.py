"""A request's job options checked on a port (services/spooler/template.py), for the inputs an
integration test cannot easily send: malformed collections and names with a language."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.core import capabilities, options
from services.core.capabilities import A4
from services.core.ipp import Attribute, Group, Operation, Status, Tag, encode, parse, request
from services.spooler import template
from services.spooler.printer import PrinterObject

A5 = "iso_a5_148x210mm"
MEDIA_COL = {
    **capabilities.for_raw(media=[A4, A5], pjl=True).attributes,
    "media-col-supported": Attribute("media-col-supported", Tag.KEYWORD, ["media-size"]),
    "media-size-supported": Attribute(
        "media-size-supported",
        Tag.BEGIN_COLLECTION,
        [{"x-dimension": (Tag.RANGE, [(100, 50000)]), "y-dimension": (Tag.INTEGER, [21000])}],
    ),
}
PORT = PrinterObject(
    "office", "direct", 8631, capabilities=capabilities.Capabilities(MEDIA_COL, pjl=True)
)


def print_job(*attributes: Attribute, fidelity: bool = False):
    message = request(Operation.PRINT_JOB)
    message.operation.add("printer-uri", Tag.URI, PORT.uri)
    if fidelity:
        message.operation.add("ipp-attribute-fidelity", Tag.BOOLEAN, True)
    message.groups.append(Group(Tag.JOB, {a.name: a for a in attributes}))
    return message


def size(x: object, y: object) -> dict:
    members = {"x-dimension": (Tag.RANGE if isinstance(x, tuple) else Tag.INTEGER, [x])}
    members["y-dimension"] = (Tag.INTEGER, [y])
    return {"media-size": (Tag.BEGIN_COLLECTION, [members])}


def test_a_media_col_size_within_a_custom_range_fits_a_range_given_as_size_does_not():
    good = Attribute("media-col", Tag.BEGIN_COLLECTION, [size(14800, 21000)])
    odd = Attribute("media-col", Tag.BEGIN_COLLECTION, [size((1, 2), 21000)])
    empty = Attribute("media-col", Tag.BEGIN_COLLECTION, [{"media-size": (Tag.INTEGER, [])}])

    assert list(template.check(print_job(good), PORT).options) == ["media-col"]
    for bad in (odd, empty):
        checked = template.check(print_job(bad), PORT)
        assert checked.status == Status.OK_IGNORED_OR_SUBSTITUTED
        assert list(checked.unsupported.attributes) == ["media-col"]


def test_a_name_with_a_language_is_kept_as_a_plain_name():
    media = Attribute("media", Tag.NAME_LANG, [A5])

    checked = template.check(print_job(media, fidelity=True), PORT)

    assert checked.status == Status.OK
    assert checked.options["media"] == Attribute("media", Tag.NAME, [A5])


def test_a_control_character_is_answered_as_out_of_band_unsupported():
    sides = Attribute("sides", Tag.KEYWORD, ["one-sided\n"])

    checked = template.check(print_job(sides), PORT)

    assert checked.unsupported.attributes["sides"].tag == Tag.UNSUPPORTED


VALUES = {
    Tag.INTEGER: st.integers(-(2**31), 2**31 - 1),
    Tag.ENUM: st.integers(-(2**31), 2**31 - 1),
    Tag.BOOLEAN: st.booleans(),
    Tag.KEYWORD: st.text(max_size=20),
    Tag.NAME: st.text(max_size=20),
    Tag.RANGE: st.tuples(st.integers(-5, 2000), st.integers(-5, 2000)),
    Tag.RESOLUTION: st.tuples(st.integers(0, 1200), st.integers(0, 1200), st.sampled_from([3, 4])),
}


@st.composite
def job_attribute(draw: st.DrawFn) -> Attribute:
    name = draw(st.sampled_from(sorted(options.SYNTAX)))
    if draw(st.booleans()) and name == "media-col":
        x = draw(
            st.one_of(
                st.integers(0, 50000),
                st.tuples(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1)),
            )
        )
        return Attribute(name, Tag.BEGIN_COLLECTION, [size(x, draw(st.integers(0, 50000)))])
    tag = draw(st.sampled_from(sorted(VALUES)))
    return Attribute(name, tag, draw(st.lists(VALUES[tag], min_size=1, max_size=3)))


@given(st.lists(job_attribute(), max_size=6), st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_job_group_gets_an_answer_that_encodes(attributes: list[Attribute], fidelity: bool):
    """Whatever a client sends as options, the answer is an IPP message, never an exception."""
    message = print_job(*attributes, fidelity=fidelity)
    parsed, _ = parse(encode(message))

    checked = template.check(parsed, PORT)

    assert encode(template.answer(parsed, checked))
    assert set(checked.options).isdisjoint(checked.unsupported.attributes) or (
        "job-hold-until" in checked.options
    )
