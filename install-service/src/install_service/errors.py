"""The install service's own error codes: API errors (beyond the shared ones) and why a job failed; and JobFailed."""

# API errors (the error envelope's `code`).
INSTALLATION_NOT_FOUND = "INSTALLATION_NOT_FOUND"
VERSION_NOT_FOUND = "VERSION_NOT_FOUND"
VERSION_YANKED = "VERSION_YANKED"
INCOMPATIBLE_ENVIRONMENT = "INCOMPATIBLE_ENVIRONMENT"
ALREADY_INSTALLED = "ALREADY_INSTALLED"
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
INSTALLATION_FINISHED = "INSTALLATION_FINISHED"
INSTALLATION_BUSY = "INSTALLATION_BUSY"
NOT_INSTALLED = "NOT_INSTALLED"
NOTHING_TO_CHANGE = "NOTHING_TO_CHANGE"
ENVIRONMENT_NOT_FOUND = "ENVIRONMENT_NOT_FOUND"
ENVIRONMENT_EXISTS = "ENVIRONMENT_EXISTS"

# Why a job failed (an installation's `error.code` and plugin.error's), besides VERSION_NOT_FOUND,
# VERSION_YANKED and the shared PLUGIN_NOT_FOUND and INTERNAL_ERROR.
JOB_ABANDONED = "JOB_ABANDONED"
DEPLOYMENT_IN_PROGRESS = "DEPLOYMENT_IN_PROGRESS"
PACKAGE_UNVERIFIABLE = "PACKAGE_UNVERIFIABLE"
DEPENDENCY_UNRESOLVED = "DEPENDENCY_UNRESOLVED"
CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
CONFIGURATION_INVALID = "CONFIGURATION_INVALID"
HEALTH_CHECK_FAILED = "HEALTH_CHECK_FAILED"
# ... from the downloader
PACKAGE_NOT_FOUND = "PACKAGE_NOT_FOUND"
DOWNLOAD_FAILED = "DOWNLOAD_FAILED"
PACKAGE_TOO_LARGE = "PACKAGE_TOO_LARGE"
# ... from the archive reader
UNSUPPORTED_PACKAGE = "UNSUPPORTED_PACKAGE"
UNSAFE_PACKAGE = "UNSAFE_PACKAGE"
CORRUPT_PACKAGE = "CORRUPT_PACKAGE"
EMPTY_PACKAGE = "EMPTY_PACKAGE"
# ... from the deployer
CONFIG_UNREADABLE = "CONFIG_UNREADABLE"
UNKNOWN_STRATEGY = "UNKNOWN_STRATEGY"
NOT_DEPLOYED = "NOT_DEPLOYED"


class JobFailed(Exception):
    """A job cannot go on: `code` (one of the above) and `message` become the installation's `error`, with `details`
    when there are any. The runner's checks, the downloader, the archive reader and the deployer each raise a kind."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
