"""Secrets as pods consume them (docs/semantics.md J1–J3): which references a pod cannot satisfy.

Why a module of its own: a pod that needs a Secret (or a key of it) that does not exist never starts (J2) —
env: CreateContainerConfigError, volume: stuck in ContainerCreating — so it is no ready endpoint and sends
nothing. The materialiser applies this to the pods it creates, and the trace explains it wherever it meets
such a pod (reason `pod-not-ready`). A missing imagePullSecret is only a warning (J3): the tracer cannot know
whether the registry is private. Only names and keys are ever compared; no value exists in the model.
"""
from __future__ import annotations

from collections.abc import Callable

from .model import Pod, Secret, SecretRef

__all__ = ["unmet", "missing_secrets", "pull_secret_warnings", "describe_ref"]


def describe_ref(ref: SecretRef) -> str:
    """Where a reference is read, e.g. "env DB_PASSWORD of container app (key password)"."""
    if ref.via == "env":
        return f"env {ref.target} of container {ref.container} (secretKeyRef key {ref.key})"
    if ref.via == "envFrom":
        return f"envFrom of container {ref.container}"
    if ref.via == "volume":
        return f"volume {ref.target}" + (f" (items {', '.join(ref.items)})" if ref.items else "")
    return "imagePullSecrets"


def unmet(ref: SecretRef, secret: Secret | None) -> str:
    """'' when `ref` is satisfied (or optional), else what is missing. imagePullSecrets are never unmet here (J3)."""
    if ref.via == "imagePullSecret" or ref.optional:
        return ""
    if secret is None:
        return f"Secret {ref.secret_name} does not exist"
    wanted = [ref.key] if ref.key else list(ref.items)
    missing = [k for k in wanted if k not in secret.keys]
    if missing:
        return f"Secret {ref.secret_name} has no key {', '.join(missing)}"
    return ""


def missing_secrets(pod: Pod, lookup: Callable[[str], Secret | None]) -> list[str]:
    """J2: why the pod cannot start, one sentence per unmet reference. `lookup(name)` finds a Secret of its namespace."""
    out = []
    for ref in pod.secret_refs:
        why = unmet(ref, lookup(ref.secret_name))
        if why:
            effect = ("CreateContainerConfigError" if ref.via in ("env", "envFrom")
                      else "stuck in ContainerCreating")
            out.append(f"{why}, needed by {describe_ref(ref)} without optional: true ({effect}; J2)")
    return out


def pull_secret_warnings(pod: Pod, lookup: Callable[[str], Secret | None]) -> list[str]:
    """J3: imagePullSecrets naming a missing Secret: the pull may fail for a private registry (readiness unchanged)."""
    return [f"imagePullSecret {ref.secret_name} does not exist: pulling from a private registry would fail "
            f"(ErrImagePull); a public image still starts (J3)"
            for ref in pod.secret_refs if ref.via == "imagePullSecret" and lookup(ref.secret_name) is None]
