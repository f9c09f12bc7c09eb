"""The exit statuses of the ``marketplace`` command (documented in the README) and the usage error."""

EXIT_OK = 0
EXIT_FAILED = 1  # the installation ended failed or cancelled
EXIT_USAGE = 2  # bad arguments (argparse uses 2 too)
EXIT_API_ERROR = 3  # the API answered with an error
EXIT_UNREACHABLE = 4  # the API could not be reached
EXIT_TIMEOUT = 5  # gave up waiting for an installation
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the arguments or files given to the command."""
