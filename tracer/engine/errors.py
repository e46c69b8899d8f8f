"""Engine errors. Every error the tracer raises on purpose derives from `TracerError`."""


class TracerError(Exception):
    """Base of all deliberate tracer errors."""


class BadRequest(TracerError):
    """The request cannot be traced as written (unparsable SOURCE/DESTINATION, unknown pod...).

    Surfaces as exit status 2 on the command line and as HTTP 400 in the API.
    """


# An error message quotes at most this many characters of an input value: a 20 MB field is never echoed back.
EXCERPT = 60


def excerpt(value, limit: int = EXCERPT) -> str:
    """`repr(value)` cut to `limit` characters, safe to put in any message about any input; a container is
    described by its type and size, never expanded (an alias-bomb value is not repeated in a 400)."""
    if isinstance(value, str | bytes) and len(value) > limit * 2:
        value = value[: limit * 2]  # never build the repr of a huge string
    elif isinstance(value, dict | list | tuple | set):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
