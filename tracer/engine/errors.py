"""Engine errors. Every error the tracer raises on purpose derives from `TracerError`."""


class TracerError(Exception):
    """Base of all deliberate tracer errors."""


class BadRequest(TracerError):
    """The request cannot be traced as written (unparsable SOURCE/DESTINATION, unknown pod...).

    Surfaces as exit status 2 on the command line and as HTTP 400 in the API.
    """
