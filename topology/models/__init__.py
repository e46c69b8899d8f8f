"""Topology models: one immutable Snapshot per import; every row belongs to one snapshot."""
from .cluster import *  # noqa: F401,F403
from .objects import *  # noqa: F401,F403
