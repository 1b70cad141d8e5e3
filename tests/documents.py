"""Documents for tests to print: random bytes of a given size with their sha256, and small
but valid PDF, PostScript and JPEG files written by hand, so no tool is needed to make them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def make_document(path: Path, size: int) -> str:
    """A file of ``size`` pseudo-random bytes (cheap to make, never compressible); its sha256."""
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        written = 0
        counter = 0
        while written < size:
            chunk = (counter.to_bytes(8, "big") + block)[: size - written]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            counter += 1
    return digest.hexdigest()


A4 = (595, 842)  # PostScript points
LETTER = (612, 792)


def minimal_pdf(text: str = "pullprint", size: tuple[int, int] = LETTER) -> bytes:
    """A small but valid one-page PDF (correct xref offsets), written by hand so no tool is
    needed: ipptool sends it as application/pdf, and CUPS filters may parse what it is given."""
    stream = f"BT /F1 24 Tf 72 {size[1] - 72} Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % size
        + b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def minimal_postscript(text: str = "pullprint", size: tuple[int, int] = LETTER) -> bytes:
    """A one-page DSC-conforming PostScript document of the given page size."""
    width, height = size
    return (
        "%!PS-Adobe-3.0\n"
        f"%%BoundingBox: 0 0 {width} {height}\n"
        "%%Pages: 1\n%%EndComments\n%%Page: 1 1\n"
        f"<< /PageSize [{width} {height}] >> setpagedevice\n"
        f"/Helvetica findfont 24 scalefont setfont 72 {height - 72} moveto ({text}) show\n"
        "showpage\n%%EOF\n"
    ).encode("ascii")


def minimal_jpeg(*components: int) -> bytes:
    """A valid baseline JFIF JPEG of one 8x8 block per component, each of one flat value: one
    component is grayscale, three are Y, Cb, Cr. With a flat block only the DC coefficient is
    non-zero, so the whole entropy-coded scan is a few bits (DC category and magnitude, then
    end-of-block), and quantisation by 1 makes it decode to exactly these values."""
    if len(components) not in (1, 3):
        raise ValueError("1 (gray) or 3 (YCbCr) components")
    coefficients = [8 * (value - 128) for value in components]  # DC of a flat 8x8 block
    categories = sorted({abs(dc).bit_length() for dc in coefficients})
    length = len(categories).bit_length()  # n codes of this length never use the all-ones code
    dc_code = {cat: (i, length) for i, cat in enumerate(categories)}
    bits = ""
    for dc in coefficients:
        cat = abs(dc).bit_length()
        code, size = dc_code[cat]
        bits += format(code, f"0{size}b")
        if cat:
            bits += format(dc if dc > 0 else dc + (1 << cat) - 1, f"0{cat}b")
        bits += "0"  # end-of-block: the only AC symbol, one-bit code 0
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    scan = scan.replace(b"\xff", b"\xff\x00")

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    n = len(components)
    counts = [0] * 16
    counts[length - 1] = len(categories)
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(
                0xC0,
                bytes([8, 0, 8, 0, 8, n]) + b"".join(bytes([i + 1, 0x11, 0]) for i in range(n)),
            ),
            segment(0xC4, b"\x00" + bytes(counts) + bytes(categories)),
            segment(0xC4, b"\x10\x01" + bytes(15) + b"\x00"),
            segment(
                0xDA,
                bytes([n]) + b"".join(bytes([i + 1, 0x00]) for i in range(n)) + b"\x00\x3f\x00",
            ),
            scan,
            b"\xff\xd9",
        ]
    )


# PWG raster (PWG 5102.4) colour spaces and bits per colour, by the names ipptool's samples
# use: (cupsColorSpace, colours, bits per colour, the byte of a blank pixel).
PWG_RASTER_TYPES = {
    "black-1": (3, 1, 1, 0x00),  # K: 0 is no ink
    "sgray-8": (18, 1, 8, 0xFF),
    "srgb-8": (19, 3, 8, 0xFF),
    "srgb-16": (19, 3, 16, 0xFF),
    "cmyk-8": (6, 4, 8, 0x00),
}
FOUR_BY_SIX = (288, 432)


def pwg_raster(size: tuple[int, int], dpi: int, kind: str) -> bytes:
    """A valid one-page PWG raster file of a blank page (PWG 5102.4): the sync word, the
    1796-byte page header, then each line run-length encoded, which a blank page makes tiny
    (the samples ipp-everywhere.test prints are not shipped; printers behind a port must get
    something they can parse)."""
    space, colours, bits, blank = PWG_RASTER_TYPES[kind]
    width, height = (points * dpi // 72 for points in size)
    bits_per_pixel = colours * bits
    bytes_per_line = (width * bits_per_pixel + 7) // 8
    header = bytearray(1796)
    header[0:9] = b"PwgRaster"
    fields = {
        276: dpi, 280: dpi, 340: 1, 352: size[0], 356: size[1], 372: width, 376: height,
        384: bits, 388: bits_per_pixel, 392: bytes_per_line, 400: space, 420: colours,
        452: 1,  # cupsInteger[0]: TotalPageCount
    }  # fmt: skip
    for offset, value in fields.items():
        header[offset : offset + 4] = value.to_bytes(4, "big")
    return b"RaS2" + bytes(header) + _blank_lines(width, height, bits_per_pixel, blank)


def _blank_lines(width: int, height: int, bits_per_pixel: int, blank: int) -> bytes:
    """Lines of one blank value: a line-repeat byte (up to 256 lines), then runs of up to 128
    units (a pixel, or a byte when pixels are smaller) as count-1 and the unit's bytes."""
    unit = max(1, bits_per_pixel // 8)
    units = width if bits_per_pixel >= 8 else (width * bits_per_pixel + 7) // 8
    line = bytearray()
    while units:
        run = min(units, 128)
        line += bytes([run - 1]) + bytes([blank]) * unit
        units -= run
    out = bytearray()
    while height:
        repeat = min(height, 256)
        out += bytes([repeat - 1]) + line
        height -= repeat
    return bytes(out)
