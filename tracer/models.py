"""Trace and Job models."""
