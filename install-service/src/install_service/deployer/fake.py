"""A deployer that only remembers what it would have deployed (tests, demos, DEPLOYER=fake)."""

from .interface import DeployError, Health, Target


class FakeDeployer:
    """Remembers what would be deployed; `fail_on` makes a method raise (tests and demos)."""

    def __init__(self):
        self.live: dict[tuple[Target, str], dict] = {}
        self.pending_ops: dict[tuple[Target, str], tuple[str, dict | None]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_on: dict[str, DeployError] = {}
        self.unhealthy: set[str] = set()

    def _maybe_fail(self, method: str) -> None:
        self.calls.append((method, ""))
        if method in self.fail_on:
            raise self.fail_on[method]

    def deploy(self, target, spec, strategy):
        self._maybe_fail("deploy")
        before = self.live.get((target, spec.name))
        self.pending_ops.setdefault((target, spec.name), (spec.key, before))
        if strategy != "blue-green":
            self.live[(target, spec.name)] = {"integrity": spec.integrity, "config": spec.configuration,
                                              "disabled": spec.disabled}

    def verify(self, target, spec, strategy):
        self._maybe_fail("verify")
        bad = spec.name in self.unhealthy
        return Health("unhealthy" if bad else "healthy", ["fake problem"] if bad else [])

    def activate(self, target, spec, strategy):
        self._maybe_fail("activate")
        self.live[(target, spec.name)] = {"integrity": spec.integrity, "config": spec.configuration,
                                          "disabled": spec.disabled}

    def finalize(self, target, name, key):
        self.calls.append(("finalize", name))
        if self.pending_ops.get((target, name), ("",))[0] == key:
            del self.pending_ops[(target, name)]

    def rollback(self, target, name):
        self.calls.append(("rollback", name))
        pending = self.pending_ops.pop((target, name), None)
        if pending is None:
            return False
        if pending[1] is None:
            self.live.pop((target, name), None)
        else:
            self.live[(target, name)] = pending[1]
        return True

    def pending(self, target, name):
        pending = self.pending_ops.get((target, name))
        return pending[0] if pending else None

    def remove(self, target, spec):
        self._maybe_fail("remove")
        before = self.live.pop((target, spec.name), None)
        self.pending_ops.setdefault((target, spec.name), (spec.key, before))

    def check(self, target, spec):
        live = self.live.get((target, spec.name))
        if live is None or spec.name in self.unhealthy:
            return Health("unhealthy", ["not deployed"])
        return Health("healthy", [])
