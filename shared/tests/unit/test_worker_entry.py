"""run_worker, the entry point of every `python -m <service>.worker`."""

import logging

import pytest

from marketplace_shared.config import BaseConfig
from marketplace_shared.worker import run_worker


class Recorder:
    """Stands in for the worker and for what runs alongside it; notes each call."""

    def __init__(self):
        self.calls: list[str] = []

    def install_signal_handlers(self) -> None:
        self.calls.append("signals")

    def start(self) -> None:
        self.calls.append("start")

    def run(self) -> None:
        self.calls.append(f"run at {logging.getLevelName(logging.getLogger().level)}")
        raise RuntimeError("the loop ended badly")

    def stop(self) -> None:
        self.calls.append("stop")


def test_logs_at_the_configured_level_and_stops_companions_when_the_loop_ends():
    recorder = Recorder()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with pytest.raises(RuntimeError):
            run_worker(BaseConfig(LOG_LEVEL="WARNING"), lambda: recorder, alongside=[recorder])
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    assert recorder.calls == ["signals", "start", "run at WARNING", "stop"]
