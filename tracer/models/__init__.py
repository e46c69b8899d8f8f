"""Trace and Job models."""
from .batch import *  # noqa: F401,F403
from .jobs import *  # noqa: F401,F403
from .matrix import *  # noqa: F401,F403
from .matrix_columns import *  # noqa: F401,F403
from .savedtests import *  # noqa: F401,F403
from .tokens import *  # noqa: F401,F403
from .traces import *  # noqa: F401,F403
