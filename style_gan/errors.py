"""User-facing errors: the entry points print these as one line instead of a traceback."""


class StyleGanError(Exception):
    """Bad input from the user (config, data, weights, checkpoint) that they can fix."""


class ConfigError(StyleGanError, ValueError):
    """A config value or key that is not allowed."""


class DataError(StyleGanError):
    """A data folder or image that cannot be used."""


class UnreadableImageError(DataError):
    """An image file that cannot be used: not an image, truncated, or over the pixel limit."""


class CheckpointError(StyleGanError):
    """A checkpoint that is missing, unreadable or does not fit the model."""


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ConfigError naming both."""
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of: {', '.join(allowed)}")
    return value


class DivergenceError(StyleGanError):
    """Training produced a non-finite loss or non-finite weights."""
