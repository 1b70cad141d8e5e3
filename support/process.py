"""A child process with its output in a log file: what every service, printer and server of a
test or benchmark runs as."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psutil

from support import ROOT


class Process:
    """A child process in its own session, its output in ``log``, stopped (and reaped) on
    ``stop``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        self.popen.kill()
        self.popen.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._out.close()

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss
