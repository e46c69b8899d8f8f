"""Topology models: one immutable Snapshot per import; every row belongs to one snapshot."""
