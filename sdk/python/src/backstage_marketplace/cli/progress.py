"""Following an installation as it runs: the progress bar or status lines, its log lines, the outcome."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import IO, Any

from ..client import MarketplaceClient
from ..errors import InstallationTimeout
from ..resources.installations import FAILED_STATUSES
from .exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT
from .output import cell, emit_json


class ProgressReporter:
    """Shows an installation as it runs: a live bar on a terminal, plain lines otherwise.

    Log lines go to ``out``; the bar (or the status lines) to ``err``, so that ``--json`` output on
    standard output stays clean.
    """

    def __init__(self, out: IO[str], err: IO[str], *, live: bool, show_logs: bool = True):
        self.out = out
        self.err = err
        self.live = live
        self.show_logs = show_logs
        self.bar = ""
        self.last_plain = ""

    def _clear(self) -> None:
        if self.live and self.bar:
            self.err.write("\r\033[K")
            self.err.flush()

    def _draw(self) -> None:
        if self.live and self.bar:
            self.err.write(self.bar)
            self.err.flush()

    def progress(self, installation: dict[str, Any]) -> None:
        status = installation.get("status", "?")
        block = installation.get("progress") or {}
        percentage = block.get("percentage")
        if percentage is None and block.get("total"):
            percentage = 100 * (block.get("current") or 0) / block["total"]
        percentage = max(0.0, min(100.0, float(percentage or 0)))
        step = block.get("currentStep") or ""
        if self.live:
            columns = shutil.get_terminal_size((100, 20)).columns
            width = 30
            filled = int(round(width * percentage / 100))
            bar = f"[{'#' * filled}{'-' * (width - filled)}] {percentage:5.1f}%  {status}  {step}"
            self._clear()
            self.bar = bar[: max(20, columns - 1)]
            self._draw()
        else:
            line = f"[{percentage:3.0f}%] {status}: {step}".rstrip(": ")
            if line != self.last_plain:
                self.err.write(line + "\n")
                self.err.flush()
                self.last_plain = line

    def log(self, line: dict[str, Any]) -> None:
        if not self.show_logs:
            return
        self._clear()
        parts = [line.get("timestamp") or line.get("time") or "", (line.get("level") or "").upper(),
                 f"[{line['step']}]" if line.get("step") else "", line.get("message") or cell(line)]
        self.out.write(" ".join(part for part in parts if part) + "\n")
        self.out.flush()
        self._draw()

    def finish(self) -> None:
        if self.live and self.bar:
            self.err.write("\n")
            self.err.flush()
            self.bar = ""


def follow_installation(client: MarketplaceClient, args: argparse.Namespace, installation: dict[str, Any]) -> int:
    """Follow an installation until it ends; print the outcome; the exit code says how it ended."""
    ident = str(installation.get("installationId") or installation.get("id"))
    live = sys.stderr.isatty() and not args.no_progress
    reporter = ProgressReporter(sys.stderr if args.json else sys.stdout, sys.stderr, live=live,
                                show_logs=not args.quiet)
    try:
        final = client.installations.wait(ident, poll_interval=args.poll_interval, timeout=args.wait_timeout,
                                          progress=reporter.progress, on_log=reporter.log)
    except InstallationTimeout as error:
        reporter.finish()
        print(f"gave up waiting: {error.message}; follow it with `marketplace installations status {ident}`",
              file=sys.stderr)
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        reporter.finish()
        print(f"\nstopped following; the installation goes on. Cancel it with "
              f"`marketplace installations cancel {ident}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    reporter.finish()
    status = final.get("status")
    if args.json:
        emit_json(final)
    else:
        summary = f"installation {ident} {status}"
        if final.get("duration") is not None:
            summary += f" in {final['duration']}s"
        failure = final.get("error")
        if isinstance(failure, dict) and failure.get("message"):
            summary += f": {failure.get('code', '')} {failure['message']}".replace(":  ", ": ")
        print(summary, file=sys.stderr if status in FAILED_STATUSES else sys.stdout)
    return EXIT_FAILED if status in FAILED_STATUSES else EXIT_OK
