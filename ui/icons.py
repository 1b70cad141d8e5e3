"""The four tray icons, drawn with QPainter so there are no image files to ship or keep in sync.

Each icon is the same printer with a badge in the lower right corner: a green dot (idle), a red
exclamation mark (error: the service is not reachable), two blue arrows (synchronizing) and a
grey crossed-out circle (offline). The shape, not only the colour, tells the states apart, for
people who cannot tell red from green.
"""

from __future__ import annotations

import enum
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZES = (16, 22, 24, 32, 48, 64)
_CANVAS = 64.0  # drawing coordinates; every size is the same drawing scaled


class TrayState(enum.Enum):
    """What the tray icon shows; the values are stable names for tests and logs."""

    IDLE = "idle"
    ERROR = "error"
    SYNCING = "syncing"
    OFFLINE = "offline"


BADGE_COLOURS = {
    TrayState.IDLE: QColor("#2e9d4f"),
    TrayState.ERROR: QColor("#d32f2f"),
    TrayState.SYNCING: QColor("#1e6fd9"),
    TrayState.OFFLINE: QColor("#757575"),
}


@cache
def state_icon(state: TrayState) -> QIcon:
    """The icon for ``state`` at every size a tray host may ask for; drawn once per state."""
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(state_pixmap(state, size))
    return icon


def state_pixmap(state: TrayState, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / _CANVAS, size / _CANVAS)
    _draw_printer(painter, dimmed=state is TrayState.OFFLINE)
    _draw_badge(painter, state)
    painter.end()
    return pixmap


def _draw_printer(painter: QPainter, dimmed: bool) -> None:
    """A paper sheet in the input, the printer body, and a sheet coming out at the front."""
    outline = QColor("#5f6368") if dimmed else QColor("#263238")
    body = QColor("#b0b6bb") if dimmed else QColor("#546e7a")
    painter.setPen(QPen(outline, 3))
    painter.setBrush(QColor("white"))
    painter.drawRect(QRectF(18, 4, 28, 18))  # paper waiting at the top
    painter.setBrush(body)
    painter.drawRoundedRect(QRectF(4, 20, 56, 26), 6, 6)
    painter.setBrush(QColor("white"))
    painter.drawRect(QRectF(16, 38, 32, 20))  # the printed sheet
    painter.setPen(QPen(outline, 2))
    for y in (45, 51):
        painter.drawLine(QPointF(21, y), QPointF(43, y))


def _draw_badge(painter: QPainter, state: TrayState) -> None:
    colour = BADGE_COLOURS[state]
    centre, radius = QPointF(46, 46), 15.0
    painter.setPen(QPen(QColor("white"), 3))
    painter.setBrush(colour)
    painter.drawEllipse(centre, radius, radius)
    painter.setPen(QPen(QColor("white"), 4, c=Qt.PenCapStyle.RoundCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if state is TrayState.ERROR:
        _draw_exclamation(painter, centre)
    elif state is TrayState.SYNCING:
        _draw_arrows(painter, centre)
    elif state is TrayState.OFFLINE:
        painter.drawLine(centre + QPointF(-7, -7), centre + QPointF(7, 7))
        painter.drawLine(centre + QPointF(7, -7), centre + QPointF(-7, 7))
    else:
        painter.drawPolyline(
            [centre + QPointF(-7, 0), centre + QPointF(-2, 6), centre + QPointF(8, -6)]
        )


def _draw_exclamation(painter: QPainter, centre: QPointF) -> None:
    font = QFont()
    font.setBold(True)
    font.setPixelSize(24)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    box = QRectF(centre.x() - 15, centre.y() - 15, 30, 30)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "!")


def _draw_arrows(painter: QPainter, centre: QPointF) -> None:
    """Two half circles with arrow heads: the usual "refresh" sign."""
    box = QRectF(centre.x() - 8, centre.y() - 8, 16, 16)
    for start in (30, 210):
        path = QPainterPath()
        path.arcMoveTo(box, start)
        path.arcTo(box, start, 120)
        painter.drawPath(path)
        head = path.currentPosition()
        painter.drawLine(head, head + (QPointF(-4, -1) if start == 30 else QPointF(4, 1)))
