"""Catalog settings, read from the environment."""

from pathlib import Path

from marketplace_shared.config import REPO_ROOT, BaseConfig, env, env_int


class Config(BaseConfig):
    SERVICE_NAME = "catalog-service"

    def __init__(self, **overrides):
        var_dir = Path(env("VAR_DIR", str(REPO_ROOT / "var")))
        # Where the local blob store keeps packages and images.
        self.ARTIFACT_ROOT = env("ARTIFACT_ROOT", str(var_dir / "artifacts"))
        # When ARTIFACT_S3_BUCKET is set, artifacts go to that S3-compatible bucket instead of ARTIFACT_ROOT.
        # Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID..., ~/.aws, instance roles), never from here.
        self.ARTIFACT_S3_BUCKET = env("ARTIFACT_S3_BUCKET")
        self.ARTIFACT_S3_PREFIX = env("ARTIFACT_S3_PREFIX", "")
        self.ARTIFACT_S3_ENDPOINT_URL = env("ARTIFACT_S3_ENDPOINT_URL")  # MinIO, Ceph...; unset = AWS
        self.ARTIFACT_S3_REGION = env("ARTIFACT_S3_REGION")  # unset = the AWS chain's default region
        self.MAX_PACKAGE_BYTES = env_int("MAX_PACKAGE_BYTES", 20 * 1024 * 1024)
        self.MAX_IMAGE_BYTES = env_int("MAX_IMAGE_BYTES", 5 * 1024 * 1024)
        self.MAX_SCREENSHOTS = env_int("MAX_SCREENSHOTS", 20)
        # How many of a plugin's most recent telemetry reports the response-time percentiles read.
        self.MAX_TELEMETRY_REPORTS = env_int("MAX_TELEMETRY_REPORTS", 5000)
        super().__init__(**overrides)
