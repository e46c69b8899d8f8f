"""API tokens: several per user, named, stored only as a hash, with last-used time and expiry.

Why our own table instead of DRF's authtoken: authtoken keeps the key itself in the database (anyone
who reads a backup or the table can act as every user) and allows one token per user. Here the key is
shown once, at creation, and only its SHA-256 is kept — a key is 256 random bits, so a fast hash is
enough (there is nothing to brute-force) and lookups stay one indexed query.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

__all__ = ["ApiToken", "hash_token_key"]


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to tell tokens apart.")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["user", "-created"], name="apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.name} ({self.prefix}…)"
