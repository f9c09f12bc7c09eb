"""Start the whole marketplace as real processes: gunicorn per service, one worker per consumer.

`make run` uses it (`python scripts/stack.py run`), and so does tests-e2e/conftest.py, which
starts its own stack on free ports against its own databases and broker prefix.
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pika
import requests

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass(frozen=True)
class Service:
    name: str  # the directory, also the SERVICE_NAME and the queue name
    package: str
    default_port: int
    upstream_env: str | None  # how the gateway (or another service) names its URL
    has_worker: bool


SERVICES = [
    Service("catalog-service", "catalog_service", 8081, "CATALOG_URL", True),
    Service("install-service", "install_service", 8082, "INSTALL_URL", True),
    Service("review-service", "review_service", 8083, "REVIEW_URL", True),
    Service("webhook-service", "webhook_service", 8084, "WEBHOOK_URL", True),
]
GATEWAY = Service("gateway", "gateway", 8080, None, False)
ALL = [GATEWAY, *SERVICES]
# The web portal: no database and no worker, reached through the gateway (WEB_URL). Its API calls carry
# the stack's PORTAL_TOKEN, by which the gateway knows them and believes the visitor address they forward.
WEB = Service("web", "marketplace_web", 8085, "WEB_URL", False)


def replica_of(name: str) -> tuple[str, int]:
    """"gateway-2" -> ("gateway", 2), "install-service-worker" -> ("install-service-worker", 1)."""
    match = re.fullmatch(r"(.+)-(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else (name, 1)


def database_env_name(service: Service) -> str:
    """CATALOG_DATABASE_URL etc.: each service owns its database."""
    return service.package.removesuffix("_service").upper() + "_DATABASE_URL"


@dataclass
class Stack:
    """A running set of processes; `start()` returns once every one of them is ready."""

    var_dir: Path
    env: dict = field(default_factory=dict)  # extra environment for every process
    ports: dict = field(default_factory=dict)  # service name -> port
    databases: dict = field(default_factory=dict)  # service name -> DATABASE_URL (else SQLite)
    worker_env: dict = field(default_factory=dict)  # service name -> extra env for its worker
    log_to_files: bool = True
    processes: dict = field(default_factory=dict)  # process name -> Popen
    with_web: bool = True  # start the portal too
    # Several processes of a kind, as on several hosts: process name ("gateway", "install-service-worker") -> how
    # many. Replicas are named "<name>-2", ...; web replicas get free ports unless `ports` names them, and replica
    # n of a process calls replica n of each service (cycling), like a load-balanced Service would spread them.
    replicas: dict = field(default_factory=dict)
    replica_env: dict = field(default_factory=dict)  # process name ("gateway-2") -> extra env of that process
    # The secret the portal and the gateway share: a new one per stack unless `env` names one.
    portal_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self):
        self.portal_token = self.env.get("PORTAL_TOKEN", self.portal_token)
        if self.with_web and WEB.name not in self.ports:
            self.ports[WEB.name] = _free_port()
        for name in list(self.ports):
            for replica in self.replica_names(name)[1:]:
                self.ports.setdefault(replica, _free_port())

    def replica_names(self, name: str) -> list[str]:
        return [name] + [f"{name}-{index}" for index in range(2, self.replicas.get(name, 1) + 1)]

    def paired(self, name: str, index: int) -> str:
        """The replica of process `name` that replica `index` of another process talks to."""
        names = self.replica_names(name)
        return names[(index - 1) % len(names)]

    def url(self, service_name: str) -> str:
        return f"http://127.0.0.1:{self.ports[service_name]}"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    def base_env(self, service: Service, index: int = 1) -> dict:
        env = dict(os.environ)
        env.update(self.env)
        env["VAR_DIR"] = str(self.var_dir)
        env["PYTHONUNBUFFERED"] = "1"
        if service.name in self.databases:
            env["DATABASE_URL"] = self.databases[service.name]
        else:
            env.pop("DATABASE_URL", None)
        for other in SERVICES:
            env.setdefault(other.upstream_env, self.url(self.paired(other.name, index)))
        if self.with_web:
            env.setdefault(WEB.upstream_env, self.url(self.paired(WEB.name, index)))
            env.setdefault("GATEWAY_URL", self.url(self.paired(GATEWAY.name, index)))
            if service in (GATEWAY, WEB):
                env["PORTAL_TOKEN"] = self.portal_token
        return env

    def migrate(self) -> None:
        for service in ALL:
            subprocess.run([PYTHON, "-m", f"{service.package}.migrate"], cwd=REPO / service.name,
                           env=self.base_env(service), check=True)

    def start(self, timeout: float = 60) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "log").mkdir(exist_ok=True)
        self.migrate()
        for service in ALL:
            for name in self.replica_names(service.name):
                self.start_web(service, name)
            if service.has_worker:
                for name in self.replica_names(f"{service.name}-worker"):
                    self.start_worker(service, name)
        if self.with_web:
            for name in self.replica_names(WEB.name):
                self.start_web(WEB, name)
        self.wait_until_ready(timeout)

    def _spawn(self, name: str, args: list[str], cwd: Path, env: dict) -> subprocess.Popen:
        output = open(self.var_dir / "log" / f"{name}.log", "ab") if self.log_to_files else None  # noqa: SIM115
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start_web(self, service: Service, name: str | None = None) -> subprocess.Popen:
        name = name or service.name
        env = self.base_env(service, replica_of(name)[1])
        env.update(self.replica_env.get(name, {}))
        env["PORT"] = str(self.ports[name])
        metrics_dir = self.var_dir / "prometheus" / name
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        return self._spawn(name, [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"], REPO / service.name, env)

    def start_worker(self, service: Service, name: str | None = None) -> subprocess.Popen:
        name = name or f"{service.name}-worker"
        env = self.base_env(service, replica_of(name)[1])
        env.update(self.worker_env.get(service.name, {}))
        env.update(self.replica_env.get(name, {}))
        return self._spawn(name, [PYTHON, "-m", f"{service.package}.worker"], REPO / service.name, env)

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = {name for service in ALL for name in self.replica_names(service.name)}
        pending |= {name for service in SERVICES if service.has_worker
                    for name in self.replica_names(f"{service.name}-worker")}
        if self.with_web:
            pending |= set(self.replica_names(WEB.name))
        while pending:
            for name in sorted(pending):
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_path(name)}")
                if self.is_ready(name):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {', '.join(sorted(pending))}")
            time.sleep(0.1)

    def log_path(self, name: str) -> Path:
        return self.var_dir / "log" / f"{name}.log"

    def is_ready(self, name: str) -> bool:
        base, index = replica_of(name)
        if base.endswith("-worker"):
            # Replica n is taken as ready once n workers consume (they all start alike).
            return self.queue_consumers(base.removesuffix("-worker")) >= index
        try:
            return requests.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def queue_consumers(self, service_name: str) -> int:
        """How many workers consume the service's queue (0 when it does not exist yet)."""
        prefix = self.env.get("EVENT_PREFIX", os.environ.get("EVENT_PREFIX", ""))
        amqp_url = self.env.get("AMQP_URL", os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
        try:
            connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        except pika.exceptions.AMQPError:
            return 0
        try:
            result = connection.channel().queue_declare(prefix + service_name, passive=True)
            return result.method.consumer_count
        except pika.exceptions.ChannelClosedByBroker:
            return 0
        finally:
            if connection.is_open:
                connection.close()

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)


def local_ports(base_port: int) -> dict:
    ports = {service.name: base_port + index for index, service in enumerate(ALL)}
    ports[WEB.name] = base_port + WEB.default_port - GATEWAY.default_port
    return ports


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(argv=None) -> int:
    """`make run`: start everything on 8080-8084, print the URL and the admin key, stop on Ctrl-C."""
    parser = argparse.ArgumentParser(description=run.__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8080")))
    args = parser.parse_args(argv)
    admin_key = os.environ.get("MARKETPLACE_ADMIN_API_KEY") or f"mkp_admin_{secrets.token_urlsafe(24)}"
    env = {
        "MARKETPLACE_ADMIN_API_KEY": admin_key,
        "WEBHOOK_ALLOWED_NETWORKS": os.environ.get("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"),
    }
    var_dir = Path(os.environ.get("VAR_DIR", REPO / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    # `make seed` (and you) can read the key here while the system runs.
    key_file = var_dir / "admin-api-key"
    key_file.touch(mode=0o600)
    key_file.write_text(admin_key + "\n")
    databases = {service.name: os.environ[database_env_name(service)]
                 for service in ALL if os.environ.get(database_env_name(service))}
    stack = Stack(var_dir=var_dir, env=env, ports=local_ports(args.port), databases=databases)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    try:
        pika.BlockingConnection(pika.URLParameters(amqp_url)).close()
    except pika.exceptions.AMQPError:
        print(f"RabbitMQ is not reachable at {amqp_url}: start it (e.g. `rabbitmq-server -detached`) "
              "or set AMQP_URL.", file=sys.stderr)
        return 1
    try:
        print(f"Starting the Plugin Marketplace (logs in {var_dir}/log) ...", flush=True)
        stack.start()
        print(f"\nPlugin Marketplace is up.\n  Portal:   {stack.gateway_url}/"
              f"\n  Gateway:  {stack.gateway_url}/api/marketplace/v1"
              f"\n  API docs: {stack.gateway_url}/docs"
              f"\n  Admin API key: {admin_key}\n\nPress Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see {stack.log_path(name)}", flush=True)
                    stack.processes.pop(name)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "run" else sys.argv[1:]))
