"""Settings: what they are, where they come from, how each value is read."""

from .settings import Settings, bundled_seeds, load_settings
from .sources import CONFIG_VARIABLE, ENV_PREFIX, find_config, unknown_variables
from .values import LOG_FORMATS, LOG_LEVELS, DeleteLimit

__all__ = [
    "CONFIG_VARIABLE", "ENV_PREFIX", "LOG_FORMATS", "LOG_LEVELS", "DeleteLimit", "Settings",
    "bundled_seeds", "find_config", "load_settings", "unknown_variables",
]  # fmt: skip
