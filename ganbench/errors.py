"""Errors a user can act on: the CLI prints their message as one paragraph, no traceback."""


class GanbenchError(Exception):
    """A problem with the user's input or environment, with a message that says the fix."""

    exit_code = 1


class ConfigError(GanbenchError):
    """An invalid configuration value, found before any work starts."""

    exit_code = 2


class PluginError(GanbenchError):
    """A plugin that cannot be found, loaded or registered."""

    exit_code = 2


class DatasetError(GanbenchError):
    """Data that is missing, empty or unreadable."""


class TrainingDiverged(GanbenchError):
    """A loss became NaN or infinite."""


class MetricUnavailable(GanbenchError):
    """A metric that cannot be computed here; the message says why."""


class OutOfMemory(GanbenchError):
    """The device ran out of memory; a search records the trial as failed and goes on."""
