"""The report's progress line."""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress bar on a terminal (a line per item otherwise)."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.start = total, 0, time.perf_counter()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str):
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        bar = "#" * int(24 * self.done / self.total)
        line = f"[{bar:<24}] {self.done}/{self.total} {label} ({elapsed:.0f} s, ~{eta:.0f} s left)"
        if self.tty:
            self.stream.write(
                "\r" + line[:110].ljust(110) + ("\n" if self.done == self.total else "")
            )
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
