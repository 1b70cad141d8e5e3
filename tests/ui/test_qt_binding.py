"""Guards against a PySide6 release that breaks the tray over time rather than at once."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtWidgets import QMenu


def test_menu_updates_keep_reference_counts_of_none(qapp: object) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call (setText,
    setVisible, ...): the tray, which updates its menu every poll, then dies with "deallocating
    None" after a few hours. (On Python 3.12+ None is immortal and this cannot happen.)"""
    menu = QMenu()
    action = menu.addAction("x")
    before = sys.getrefcount(None)
    for _ in range(2000):
        action.setText("y")
        action.setVisible(True)
    assert sys.getrefcount(None) > before - 1000, "this PySide6 build leaks None references"
