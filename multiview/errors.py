"""The one exception type that the CLI turns into a clean one-line message."""


class MultiviewError(Exception):
    """A user-facing error: bad configuration, missing or corrupt data, impossible request.

    The CLI prints ``str(err)`` on one line and exits with :attr:`exit_code`; library users
    can catch it like any exception.
    """

    exit_code = 1


class ConfigError(MultiviewError, ValueError):
    """An invalid configuration value (a field outside its allowed range)."""

    exit_code = 2


class DataError(MultiviewError):
    """A data set that is missing, corrupt, or not in a recognised layout."""

    exit_code = 2
