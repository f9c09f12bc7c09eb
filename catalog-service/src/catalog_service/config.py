"""Catalog settings, read from the environment."""

from pathlib import Path

from marketplace_shared.config import REPO_ROOT, BaseConfig, env, env_int


class Config(BaseConfig):
    SERVICE_NAME = "catalog-service"

    def __init__(self, **overrides):
        var_dir = Path(env("VAR_DIR", str(REPO_ROOT / "var")))
        # Where the local blob store keeps packages and images.
        self.ARTIFACT_ROOT = env("ARTIFACT_ROOT", str(var_dir / "artifacts"))
        self.MAX_PACKAGE_BYTES = env_int("MAX_PACKAGE_BYTES", 20 * 1024 * 1024)
        self.MAX_IMAGE_BYTES = env_int("MAX_IMAGE_BYTES", 5 * 1024 * 1024)
        self.MAX_SCREENSHOTS = env_int("MAX_SCREENSHOTS", 20)
        # How many of a plugin's most recent telemetry reports the response-time percentiles read.
        self.MAX_TELEMETRY_REPORTS = env_int("MAX_TELEMETRY_REPORTS", 5000)
        super().__init__(**overrides)
