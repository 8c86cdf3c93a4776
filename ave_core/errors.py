"""Project exceptions whose message a user can act on."""


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
