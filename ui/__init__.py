"""The pullprint tray: a PySide6 system tray app that talks only to the local facade over HTTP."""
