"""Typed field readers: each reads one field of a manifest and either returns a clean value or
raises a `ManifestError` naming the field's full path (e.g. `spec.ports[1].targetPort`).

Why one module of readers: every kind's parser then reads like the Kubernetes API reference
(field, type, default), and every validation rule (an IP, a CIDR, a port range, a label selector)
is written once. Values are echoed in messages (shortened) to help the user — except by the Secret
parser, which never reads values at all.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from tracer.engine.model import LabelSelector, SelectorRequirement

from .errors import ManifestError
from .load import Document, _type_name

__all__ = ["Ctx"]

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
PROTOCOLS = ("TCP", "UDP", "SCTP")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PORT_NAME = re.compile(r"^(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?\Z")
_IPV4 = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}\Z")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Ctx:
    """Where we are: the document and the object being parsed (for error messages)."""

    __slots__ = ("doc", "kind", "namespace", "name")

    def __init__(self, doc: Document, kind: str = "", namespace: str = "", name: str = ""):
        self.doc = doc
        self.kind = kind
        self.namespace = namespace
        self.name = name

    def error(self, field: str, problem: str) -> ManifestError:
        return ManifestError(problem, file=self.doc.source_file, document=self.doc.index, item=self.doc.item,
                             kind=self.kind, namespace=self.namespace, name=self.name, field=field)

    # -- structure ---------------------------------------------------------------------------

    def map(self, obj: dict, key: str, path: str, *, required: bool = False) -> dict:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.error(path, "required field is missing")
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"must be a mapping, not {_type_name(value)}")
        return value

    def list(self, obj: dict, key: str, path: str, *, required: bool = False) -> list:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.error(path, "required field is missing")
            return []
        if not isinstance(value, list):
            raise self.error(path, f"must be a list, not {_type_name(value)}")
        return value

    def maps(self, obj: dict, key: str, path: str, *, required: bool = False) -> list[tuple[str, dict]]:
        """A list of mappings, as (path[i], item) pairs."""
        out = []
        for i, item in enumerate(self.list(obj, key, path, required=required)):
            if not isinstance(item, dict):
                raise self.error(f"{path}[{i}]", f"must be a mapping, not {_type_name(item)}")
            out.append((f"{path}[{i}]", item))
        return out

    # -- scalars -----------------------------------------------------------------------------

    def str(self, obj: dict, key: str, path: str, default: str = "", *, required: bool = False,
            choices: tuple[str, ...] | None = None) -> str:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                raise self.error(path, "required field is missing")
            return default
        if not isinstance(value, str):
            raise self.error(path, f"must be a string, not {_type_name(value)} ({_show(value)})")
        if choices is not None and value not in choices:
            raise self.error(path, f"{_show(value)} is not one of {', '.join(choices)}")
        return value

    def strs(self, obj: dict, key: str, path: str) -> tuple[str, ...]:
        out = []
        for i, v in enumerate(self.list(obj, key, path)):
            if not isinstance(v, str):
                raise self.error(f"{path}[{i}]", f"must be a string, not {_type_name(v)} ({_show(v)})")
            out.append(v)
        return tuple(out)

    def int(self, obj: dict, key: str, path: str, default: Any = None, *, required: bool = False,
            lo: int | None = None, hi: int | None = None) -> Any:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.error(path, "required field is missing")
            return default
        return self.check_int(value, path, lo, hi)

    def check_int(self, value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise self.error(path, f"must be an integer, not {_type_name(value)} ({_show(value)})")
        value = int(value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.error(path, f"{value} is out of range {lo}-{hi}")
        return value

    def bool(self, obj: dict, key: str, path: str, default: Any = False) -> Any:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(path, f"must be true or false, not {_type_name(value)} ({_show(value)})")
        return value

    def port(self, obj: dict, key: str, path: str, *, required: bool = False) -> int | None:
        return self.int(obj, key, path, required=required, lo=1, hi=65535)

    def int_or_name(self, obj: dict, key: str, path: str) -> int | str | None:
        """An IntOrString port: a number 1-65535 or an IANA service name (≤15 chars, a letter)."""
        value = obj.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            if value.isdigit():  # "8080" in YAML quotes: Kubernetes treats it as the name "8080" → invalid
                raise self.error(path, f"{_show(value)} is a quoted number; write it without quotes")
            return self.check_port_name(value, path)
        return self.check_int(value, path, 1, 65535)

    def check_port_name(self, value: str, path: str) -> str:
        """IANA_SVC_NAME (validation.IsValidPortName): ≤15 of a-z 0-9 '-', a letter, no '--', no edge '-'."""
        if not _PORT_NAME.match(value) or "--" in value:
            raise self.error(path, f"{_show(value)} is not a valid port name (1-15 lower-case letters, digits "
                                   "or '-', at least one letter, not starting or ending with '-')")
        return value

    def protocol(self, obj: dict, key: str, path: str) -> str:
        return self.str(obj, key, path, "TCP", choices=PROTOCOLS)

    # -- addresses ---------------------------------------------------------------------------

    def ip(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.error(path, f"must be an IP address string, not {_type_name(value)}")
        if _IPV4.match(value):  # fast path: canonical dotted quad (most of a large dump)
            return value
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise self.error(path, f"{_show(value)} is not an IP address") from None

    def ips(self, obj: dict, key: str, path: str) -> tuple[str, ...]:
        return tuple(self.ip(v, f"{path}[{i}]") for i, v in enumerate(self.list(obj, key, path)))

    def cidr(self, value: Any, path: str) -> str:
        """A CIDR, normalised to its network (`10.0.0.1/8` → `10.0.0.0/8`, as Go's ParseCIDR masks)."""
        if not isinstance(value, str) or "/" not in value:
            raise self.error(path, f"{_show(value)} is not a CIDR (address/prefix-length)")
        try:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise self.error(path, f"{_show(value)} is not a valid CIDR") from None

    def cidrs(self, obj: dict, key: str, path: str) -> tuple[str, ...]:
        return tuple(self.cidr(v, f"{path}[{i}]") for i, v in enumerate(self.list(obj, key, path)))

    # -- labels and selectors ----------------------------------------------------------------

    def labels(self, obj: dict, key: str, path: str, *, label_syntax: bool = True) -> dict[str, str]:
        """A string→string map (labels, a Service selector; annotations with `label_syntax=False`).

        Label keys and values must have the syntax the API server enforces (a live dump always does): a
        value such as "a b" could never be matched by any selector, and is a typo to point at."""
        value = self.map(obj, key, path)
        for k, v in value.items():
            if not isinstance(k, str):
                raise self.error(path, f"key {_show(k)} must be a string")
            if not isinstance(v, str):
                hint = "; quote it" if isinstance(v, bool | int | float) else ""
                raise self.error(f"{path}.{k}", f"must be a string, not {_type_name(v)} ({_show(v)}){hint}")
            if label_syntax:
                problem = _label_problem(k, v)
                if problem:
                    raise self.error(f"{path}.{k}" if "value" in problem else path, problem)
        return value

    def selector(self, obj: dict, key: str, path: str) -> LabelSelector | None:
        """A metav1.LabelSelector; None when the field is absent."""
        raw = obj.get(key)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.error(path, f"must be a mapping (matchLabels/matchExpressions), not {_type_name(raw)}")
        unknown = set(raw) - {"matchLabels", "matchExpressions"}
        if unknown:
            raise self.error(f"{path}.{sorted(unknown)[0]}", "unknown field in a label selector "
                             "(only matchLabels and matchExpressions are allowed)")
        labels = self.labels(raw, "matchLabels", f"{path}.matchLabels")
        reqs = []
        for p, expr in self.maps(raw, "matchExpressions", f"{path}.matchExpressions"):
            k = self.str(expr, "key", f"{p}.key", required=True)
            problem = _label_problem(k, "")
            if problem:
                raise self.error(f"{p}.key", problem)
            op = self.str(expr, "operator", f"{p}.operator", required=True, choices=SELECTOR_OPERATORS)
            values = self.strs(expr, "values", f"{p}.values")
            for i, v in enumerate(values):
                problem = _label_problem("x", v)
                if problem:
                    raise self.error(f"{p}.values[{i}]", problem)
            if op in ("In", "NotIn") and not values:
                raise self.error(f"{p}.values", f"must be non-empty when operator is {op}")
            if op in ("Exists", "DoesNotExist") and values:
                raise self.error(f"{p}.values", f"must be empty when operator is {op}")
            reqs.append(SelectorRequirement(key=k, operator=op, values=values))
        return LabelSelector(match_labels=dict(labels), match_expressions=tuple(reqs))


_LABEL_NAME = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\Z")
_LABEL_RULE = "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"


@functools.lru_cache(maxsize=65536)  # a dump repeats the same few hundred keys and values 100,000 times
def _label_problem(key: str, value: str) -> str | None:
    """Why `key: value` is not a valid label (k8s IsQualifiedName / IsValidLabelValue), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"label key {key!r}: the prefix before '/' must be a DNS subdomain (e.g. example.com)"
    if not _LABEL_NAME.match(name):
        return f"label key {key!r} is not a valid name ({_LABEL_RULE}, after an optional 'prefix/')"
    if value and not _LABEL_NAME.match(value):
        return f"{value!r} is not a valid label value ({_LABEL_RULE}, or empty)"
    return None
