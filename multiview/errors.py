"""The exception types that the CLI turns into a clean one-line message and an exit code."""


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


class DamagedFileError(DataError, ValueError):
    """A file of a run (block, cell, checkpoint, config) that cannot be read back: flipped
    bits, a truncated write from another tool, hand edits. The message names the file.

    Also a :class:`ValueError`, so code that treats an unreadable file as absent still does.
    """


class WriteError(MultiviewError, OSError):
    """A file that could not be written (full disk, quota, permissions). Exit code 1: the
    request was fine, the machine refused; every file written before it is intact."""

    exit_code = 1


class DamagedFileWarning(UserWarning):
    """A damaged file that the run could recompute (a CIFAR checkpoint): it is kept beside
    under another name and the part is recomputed; the CLI prints the message as one line."""
