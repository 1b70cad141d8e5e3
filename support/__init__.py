"""The start-up helpers for real processes that tests and benchmarks share: a client
installation and its services (``client``), the raw virtual printer (``printers``), a private
cupsd (``cups``), the reference server (``server``), the child process they run as
(``process``), and the ports (``ports``) and waits (``waiting``) they all need.

Fixtures stay in tests/conftest.py; this package imports no pytest, so ``python -m benchmarks``
runs it as it is. It is not shipped: the wheel holds cli, protocol, services, server, ui and
deploy only.
"""

from pathlib import Path

# The checkout: services run with it as their working directory, as `python -m services.x`.
ROOT = Path(__file__).resolve().parents[1]
