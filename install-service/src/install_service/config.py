"""Installations settings, read from the environment."""

from pathlib import Path

from marketplace_shared.config import REPO_ROOT, BaseConfig, env, env_float, env_int


class Config(BaseConfig):
    SERVICE_NAME = "install-service"

    def __init__(self, **overrides):
        var_dir = Path(env("VAR_DIR", str(REPO_ROOT / "var")))
        # Where the catalog serves packages (the worker downloads them from there).
        self.CATALOG_URL = env("CATALOG_URL", "http://127.0.0.1:8081").rstrip("/")
        # The filesystem deployer writes <INSTALL_ROOT>/<environment>/<namespace>/.
        self.INSTALL_ROOT = env("INSTALL_ROOT", str(var_dir / "installs"))
        # `filesystem` (default) or `fake` (no files: demos and tests).
        self.DEPLOYER = env("DEPLOYER", "filesystem")
        # Versions given to an environment created on the fly by an install.
        self.DEFAULT_BACKSTAGE_VERSION = env("DEFAULT_BACKSTAGE_VERSION", "1.35.0")
        self.DEFAULT_NODE_VERSION = env("DEFAULT_NODE_VERSION", "20.11.0")
        # Pause before each step of a job: lets tests and demos cancel mid-way. 0 in production.
        self.INSTALL_STEP_DELAY_SECONDS = env_float("INSTALL_STEP_DELAY_SECONDS", 0.0)
        # A job holds its installation for this long and renews the hold as it goes.
        self.INSTALL_LEASE_SECONDS = env_float("INSTALL_LEASE_SECONDS", 30.0)
        # Interrupted attempts (worker crashes) after which a job fails cleanly instead of resuming.
        self.INSTALL_MAX_ATTEMPTS = env_int("INSTALL_MAX_ATTEMPTS", 3)
        # How often the worker looks for jobs whose holder died, and re-queues them.
        self.JOB_RECOVERY_INTERVAL = env_float("JOB_RECOVERY_INTERVAL", 5.0)
        # A pending job nobody has taken for this long is queued again (its message was lost).
        self.JOB_REQUEUE_AFTER_SECONDS = env_float("JOB_REQUEUE_AFTER_SECONDS", 300.0)
        # Seconds between health checks of active installations.
        self.HEALTH_CHECK_INTERVAL = env_float("HEALTH_CHECK_INTERVAL", 60.0)
        # Telemetry older than this makes a healthy installation `degraded` (once it has sent any).
        self.TELEMETRY_STALE_SECONDS = env_float("TELEMETRY_STALE_SECONDS", 900.0)
        # Download limits: timeout per request, retries, biggest package, biggest unpacked tree.
        self.DOWNLOAD_TIMEOUT_SECONDS = env_float("DOWNLOAD_TIMEOUT_SECONDS", 30.0)
        self.DOWNLOAD_ATTEMPTS = env_int("DOWNLOAD_ATTEMPTS", 3)
        self.MAX_PACKAGE_BYTES = env_int("MAX_PACKAGE_BYTES", 100 * 1024 * 1024)
        self.MAX_UNPACKED_BYTES = env_int("MAX_UNPACKED_BYTES", 500 * 1024 * 1024)
        # Shown as estimatedTime until enough installs have completed to average them.
        self.DEFAULT_ESTIMATED_SECONDS = env_int("DEFAULT_ESTIMATED_SECONDS", 30)
        super().__init__(**overrides)
