"""run_worker, the entry point of every `python -m <service>.worker`."""

import logging

from marketplace_shared.config import BaseConfig
from marketplace_shared.worker import run_worker


class FakeWorker:
    def __init__(self, calls: list[str]):
        self.calls = calls

    def install_signal_handlers(self) -> None:
        self.calls.append("signals")

    def run(self) -> None:
        self.calls.append(f"run at {logging.getLevelName(logging.getLogger().level)}")
        raise RuntimeError("the loop ended badly")


class Companion:
    def __init__(self, calls: list[str]):
        self.calls = calls

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


def test_logs_at_the_configured_level_and_stops_companions_when_the_loop_ends():
    calls: list[str] = []
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        run_worker(BaseConfig(LOG_LEVEL="WARNING"), lambda: FakeWorker(calls), alongside=[Companion(calls)])
    except RuntimeError:
        calls.append("raised")
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    assert calls == ["signals", "start", "run at WARNING", "stop", "raised"]
