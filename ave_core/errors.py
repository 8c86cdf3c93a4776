"""Project exceptions whose message a user can act on."""

import errno


class AveError(Exception):
    """An error with a one-line message that names the file or key and the fix."""


class InputError(AveError):
    """A user's input file cannot be used."""


class ConfigError(AveError):
    """The configuration is invalid."""


class ArtifactError(AveError):
    """An artifact on disk is missing or does not match its model."""


class ToolError(AveError):
    """An external program is missing or failed."""


class OutputError(AveError):
    """An output cannot be written: the disk is full, or the folder is read-only or not writable."""


# what the operating system's write errors mean for the user: by errno, and by the text programs print
WRITE_PROBLEMS = {
    errno.ENOSPC: "no space left on device — free some space there (or move the project) and run again",
    errno.EDQUOT: "disk quota exceeded — free some space there (or raise the quota) and run again",
    errno.EROFS: "read-only file system — make the folder writable (or move the project) and run again",
    errno.EACCES: "permission denied — make it readable and writable for you (chmod/chown) and run again",
}
WRITE_PROBLEM_TEXTS = {
    "No space left on device": WRITE_PROBLEMS[errno.ENOSPC],
    "Disk quota exceeded": WRITE_PROBLEMS[errno.EDQUOT],
    "Read-only file system": WRITE_PROBLEMS[errno.EROFS],
}
