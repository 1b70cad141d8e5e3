"""About pullprint: version, copyright and licenses, as the facade reports them."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from ui.dialogs import busy
from ui.facade import Facade, Result
from ui.i18n import _


class AboutDialog(QDialog):
    """Shows ``GET /about``; the service's version is the one that matters to support."""

    def __init__(self, facade: Facade) -> None:
        super().__init__()
        self.facade = facade
        with busy():
            self.about: Result = facade.about()
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setOpenExternalLinks(True)
        self.text.setMinimumWidth(360)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(_("About pullprint"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        self.text.setText(self._html())

    def _html(self) -> str:
        if not self.about.ok or not isinstance(self.about.data, dict):
            text = _("The version is not known: the service is not reachable.")
            return f"<h3>pullprint</h3><p>{html.escape(text)}</p>"
        info: dict[str, Any] = self.about.data
        lines = [
            "<h3>pullprint</h3>",
            "<p>"
            + html.escape(_("Version {version}").format(version=info.get("version", "?")))
            + "</p>",
            f"<p>{html.escape(str(info.get('copyright', '')))}</p>",
            "<p>"
            + html.escape(_("License: {license}").format(license=info.get("license", "?")))
            + "</p>",
        ]
        components = info.get("components") or []
        if isinstance(components, dict):  # {name: version}
            components = [f"{name} {version}" for name, version in components.items()]
        if components:
            lines.append("<p><b>" + html.escape(_("Components")) + "</b></p><ul>")
            lines.extend(f"<li>{html.escape(_component_text(c))}</li>" for c in components)
            lines.append("</ul>")
        return "".join(lines)


def _component_text(component: Any) -> str:
    """A component is ``{name, version, license}`` or already a string; show either."""
    if isinstance(component, dict):
        parts = [component.get("name"), component.get("version")]
        text = " ".join(str(p) for p in parts if p)
        return f"{text} ({component['license']})" if component.get("license") else text
    return str(component)
