"""What the user asked to trace: `Flow` (source, destination, port, protocol, via) and its parsing.

SOURCE and DESTINATION forms are those of docs/contract.md. A request is parsed once, here: a Flow carries
its parsed source (`src`), destination (`dst`) and `--via` (`via_addr`), so the trace never re-reads the
strings. `parse_flow_request` reads every request shape (CLI --batch line, API body with flat or nested
assumptions); `Flow.stored_request` is the normalised form a stored trace keeps. Parsing checks only syntax;
whether the named pod/service/workload exists is checked against a model by the trace (also BadRequest).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from .assumptions import Assumptions
from .errors import BadRequest, excerpt

PROTOCOLS = ("TCP", "UDP", "SCTP")
# Field lengths as the Kubernetes API server validates them (apimachinery validation): a namespace is a
# DNS-1123 label (63), an object or node name a DNS-1123 subdomain (253), a host name 253 with labels of 63, a
# Service port name a DNS-1123 label (63; a container port's IANA_SVC_NAME is at most 15). A request past
# them names nothing that can exist, and is refused before it is stored or echoed.
MAX_LABEL = 63
MAX_NAME = 253
MAX_ENDPOINT = 2048  # a whole SOURCE/DESTINATION (a url: with a long path and query)
MAX_HEADERS = 64
MAX_HEADER_VALUE = 8192  # the usual request-header size limit of HTTP servers (nginx, Envoy)
SOURCE_FORMS = "pod:NS/NAME, external:IP, node:NAME, workload:NS/NAME or workload:NS/KIND/NAME"
DEST_FORMS = "svc:NS/NAME, dns:NAME, ip:ADDR, url:SCHEME://HOST[:PORT]/PATH[?QUERY], volume:NAME"
URL_PORTS = {"http": 80, "https": 443, "grpc": 80, "tls": 443}  # grpc: h2c on a plain listener; tls: SNI only
METHOD = re.compile(r"^[A-Z][A-Z-]{0,31}\Z")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}\Z")  # an RFC 9110 token
WORKLOAD_KINDS = {k.lower(): k for k in (
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController", "CronJob")}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed SOURCE or DESTINATION: `kind` is the prefix, `parts` the pieces after it."""

    kind: str
    parts: tuple[str, ...]
    raw: str


@dataclass(frozen=True, slots=True)
class Flow:
    """One question. Building it parses source, destination and via (BadRequest when unparsable)."""

    source: str
    destination: str
    port: int | str | None = None
    protocol: str = "TCP"
    via: str | None = None
    method: str | None = None  # HTTP request attributes (url: destinations; Gateway API and Ingress read them)
    headers: tuple[tuple[str, str], ...] = ()
    src: Endpoint = field(init=False, compare=False, repr=False)
    dst: Endpoint = field(init=False, compare=False, repr=False)
    via_addr: tuple[str, int | None] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "port", parse_port(self.port))
        object.__setattr__(self, "protocol", parse_protocol(self.protocol))
        object.__setattr__(self, "src", parse_source(self.source))
        object.__setattr__(self, "dst", parse_destination(self.destination))
        object.__setattr__(self, "via_addr", parse_via(self.via))
        object.__setattr__(self, "method", parse_method(self.method))
        object.__setattr__(self, "headers", parse_headers(self.headers))
        if (self.method or self.headers) and self.dst.kind != "url":
            raise BadRequest("--method and --header apply to url: destinations only")

    def to_dict(self) -> dict:
        out = {"from": self.source, "to": self.destination, "port": self.port, "protocol": self.protocol,
               "via": self.via}
        if self.method:
            out["method"] = self.method
        if self.headers:
            out["headers"] = dict(self.headers)
        return out

    @property
    def query(self) -> dict[str, str]:
        """Query parameters of a url: destination (the first value of a repeated name)."""
        query = urlsplit(self.destination.split(":", 1)[1].strip()).query if ":" in self.destination else ""
        out: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def stored_request(self, assumptions: Assumptions) -> dict:
        """The normalised request a stored trace keeps, so that a re-run asks exactly the same question."""
        return {**self.to_dict(), "assumptions": assumptions.to_dict()}


def _split_ns_name(kind: str, rest: str, raw: str, allow_kind: bool = False, role: str = "SOURCE") -> tuple[str, ...]:
    bits = rest.split("/")
    if allow_kind and len(bits) == 3 and all(bits):
        kind_name = WORKLOAD_KINDS.get(bits[1].lower())
        if not kind_name:
            raise BadRequest(f"unparsable {role} {excerpt(raw)}: unknown workload kind {excerpt(bits[1])} "
                             f"(one of {', '.join(sorted(set(WORKLOAD_KINDS.values())))})")
        return (bits[0], kind_name, bits[2])
    if len(bits) != 2 or not all(bits):
        raise BadRequest(f"unparsable {role} {excerpt(raw)}: expected {kind}:NAMESPACE/NAME")
    _check_length(role, raw, bits[0], MAX_LABEL, "a namespace")
    _check_length(role, raw, bits[1], MAX_NAME, "a name")
    return tuple(bits)


def _check_length(role: str, raw: str, value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise BadRequest(f"unparsable {role} {excerpt(raw)}: {what} has at most {limit} characters in Kubernetes, "
                         f"not {len(value)}")


def _check_endpoint(role: str, text) -> None:
    if isinstance(text, str) and len(text) > MAX_ENDPOINT:
        raise BadRequest(f"unparsable {role} {excerpt(text)}: {len(text)} characters; at most {MAX_ENDPOINT}")


def parse_source(text: str) -> Endpoint:
    _check_endpoint("SOURCE", text)
    if not isinstance(text, str) or ":" not in text:
        raise BadRequest(f"unparsable SOURCE {excerpt(text)}: expected one of {SOURCE_FORMS}")
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind == "pod":
        return Endpoint("pod", _split_ns_name("pod", rest, text), text)
    if kind == "workload":
        return Endpoint("workload", _split_ns_name("workload", rest, text, allow_kind=True), text)
    if kind == "external":
        try:
            ipaddress.ip_address(rest)
        except ValueError:
            raise BadRequest(f"unparsable SOURCE {excerpt(text)}: external: needs an IP address") from None
        return Endpoint("external", (rest,), text)
    if kind == "node":
        if not rest:
            raise BadRequest(f"unparsable SOURCE {excerpt(text)}: expected node:NAME")
        _check_length("SOURCE", text, rest, MAX_NAME, "a node name")
        return Endpoint("node", (rest,), text)
    raise BadRequest(f"unparsable SOURCE {excerpt(text)}: expected one of {SOURCE_FORMS}")


def parse_destination(text: str) -> Endpoint:
    _check_endpoint("DESTINATION", text)
    if not isinstance(text, str) or ":" not in text:
        raise BadRequest(f"unparsable DESTINATION {excerpt(text)}: expected one of {DEST_FORMS}")
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind == "svc":
        return Endpoint("svc", _split_ns_name("svc", rest, text, role="DESTINATION"), text)
    if kind == "dns":
        name = rest.lower()
        if not name or any(not label for label in name.rstrip(".").split(".")) or " " in name:
            raise BadRequest(f"unparsable DESTINATION {excerpt(text)}: dns: needs a host name")
        _check_length("DESTINATION", text, name.rstrip("."), MAX_NAME, "a DNS name")
        _check_length("DESTINATION", text, max(name.split("."), key=len), MAX_LABEL, "a DNS label")
        return Endpoint("dns", (name,), text)
    if kind == "ip":
        try:
            ipaddress.ip_address(rest)
        except ValueError:
            raise BadRequest(f"unparsable DESTINATION {excerpt(text)}: ip: needs an IP address") from None
        return Endpoint("ip", (rest,), text)
    if kind == "url":
        parsed = parse_url(rest, text)
        return Endpoint("url", parsed, text)
    if kind == "volume":  # a volume of the source pod (I1): its name is a DNS label, as in spec.volumes[].name
        if not rest or "/" in rest or " " in rest:
            raise BadRequest(f"unparsable DESTINATION {excerpt(text)}: expected volume:NAME (a volume of the source pod)")
        _check_length("DESTINATION", text, rest, MAX_LABEL, "a volume name")
        return Endpoint("volume", (rest,), text)
    raise BadRequest(f"unparsable DESTINATION {excerpt(text)}: expected one of {DEST_FORMS}")


def parse_url(url: str, raw: str | None = None) -> tuple[str, str, str, str]:
    """→ (scheme, host, port, path) as strings; port defaults from the scheme."""
    raw = raw or url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadRequest(f"unparsable DESTINATION {excerpt(raw)}: {exc}") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in URL_PORTS or not parts.hostname:
        raise BadRequest(f"unparsable DESTINATION {excerpt(raw)}: expected url:http(s)://HOST[:PORT]/PATH[?QUERY], "
                         "url:grpc://HOST/SERVICE/METHOD or url:tls://SNI[:PORT]")
    if scheme == "grpc" and len([b for b in (parts.path or "").split("/") if b]) != 2:
        raise BadRequest(f"unparsable DESTINATION {excerpt(raw)}: a gRPC URL is url:grpc://HOST[:PORT]/SERVICE/METHOD")
    port = port or URL_PORTS[scheme]
    return (scheme, parts.hostname.lower(), str(port), parts.path or "/")


def parse_port(port) -> int | str | None:
    if port is None or port == "":
        return None
    if isinstance(port, bool):
        raise BadRequest(f"unparsable port {excerpt(port)}")
    if isinstance(port, int):
        if not 0 < port < 65536:
            raise BadRequest(f"port {port} is out of range 1-65535")
        return port
    if isinstance(port, str):
        text = port.strip()
        if text.isdigit():
            return parse_port(int(text))
        if text and all(c.isalnum() or c == "-" for c in text):
            if len(text) > MAX_LABEL:
                raise BadRequest(f"unparsable port {excerpt(port)}: a port name has at most {MAX_LABEL} characters "
                                 f"(a DNS-1123 label; a container port's name at most 15), not {len(text)}")
            return text  # a named (service) port
    raise BadRequest(f"unparsable port {excerpt(port)}: a number 1-65535 or a port name")


def parse_protocol(protocol) -> str:
    if protocol in (None, ""):
        return "TCP"
    if not isinstance(protocol, str) or protocol.upper() not in PROTOCOLS:
        raise BadRequest(f"unknown protocol {excerpt(protocol)}: one of TCP, UDP, SCTP")
    return protocol.upper()


def parse_gateway_via(via) -> tuple[str, int | None] | None:
    """`gateway:NS/NAME[:PORT]` → ("NS/NAME", port|None); None for any other --via."""
    if not isinstance(via, str) or not via.strip().lower().startswith("gateway:"):
        return None
    rest = via.strip()[len("gateway:"):]
    name, _, port = rest.partition(":")
    bits = name.split("/")
    if len(bits) != 2 or not all(bits):
        raise BadRequest(f"unparsable --via {excerpt(via)}: expected gateway:NAMESPACE/NAME[:PORT]")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise BadRequest(f"unparsable --via {excerpt(via)}: bad port {excerpt(port)}")
    return name, int(port) if port else None


def parse_method(method) -> str | None:
    if method in (None, ""):
        return None
    if not isinstance(method, str) or not METHOD.match(method.strip().upper()):
        raise BadRequest(f"unparsable --method {excerpt(method)}: an HTTP method such as GET or POST")
    return method.strip().upper()


def parse_headers(headers) -> tuple[tuple[str, str], ...]:
    """`['Name: value', …]` (CLI), `{"Name": "value"}` (batch/API) or pairs → ((Name, value), …)."""
    if headers in (None, "", [], {}, ()):
        return ()
    if isinstance(headers, dict):
        items = list(headers.items())
    elif isinstance(headers, list | tuple):
        items = []
        for h in headers:
            if isinstance(h, list | tuple) and len(h) == 2:
                items.append((h[0], h[1]))
                continue
            if not isinstance(h, str) or ":" not in h:
                raise BadRequest(f"unparsable --header {excerpt(h)}: expected 'Name: value'")
            name, value = h.split(":", 1)
            items.append((name.strip(), value.strip()))
    else:
        raise BadRequest(f"unparsable headers {excerpt(headers)}: an object {{\"Name\": \"value\"}}")
    if len(items) > MAX_HEADERS:
        raise BadRequest(f"{len(items)} headers; at most {MAX_HEADERS}")
    out = []
    for name, value in items:
        if isinstance(value, str) and len(value) > MAX_HEADER_VALUE:
            raise BadRequest(f"header {excerpt(name)}: a value of {len(value)} characters; at most {MAX_HEADER_VALUE}")
        if not isinstance(name, str) or not HEADER_NAME.match(name) or not isinstance(value, str):
            raise BadRequest(f"unparsable header {excerpt(name)}: a header name (letters, digits, '-') with a string value")
        out.append((name, value))
    return tuple(out)


def parse_via(via) -> tuple[str, int | None] | None:
    """`ADDR[:PORT]` → (addr, port|None). IPv6 as [ADDR]:PORT. `gateway:NS/NAME[:PORT]` → None (that entry is
    not an address: see parse_gateway_via)."""
    if via in (None, ""):
        return None
    if not isinstance(via, str):
        raise BadRequest(f"unparsable --via {excerpt(via)}: expected ADDR[:PORT] or gateway:NS/NAME[:PORT]")
    if parse_gateway_via(via):
        return None
    text = via.strip()
    addr, port = text, None
    if text.startswith("["):
        end = text.find("]")
        addr = text[1:end]
        rest = text[end + 1:]
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        addr, port = text.split(":")
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        raise BadRequest(f"unparsable --via {excerpt(via)}: {excerpt(addr)} is not an IP address") from None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise BadRequest(f"unparsable --via {excerpt(via)}: bad port {excerpt(port)}")
        port = int(port)
    return addr, port


def make_flow(source, destination, port=None, protocol=None, via=None, method=None, headers=None) -> Flow:
    """Validate every field (syntax only) and build a Flow."""
    if not isinstance(source, str):
        raise BadRequest(f"unparsable SOURCE {excerpt(source)}: expected one of {SOURCE_FORMS}")
    if not isinstance(destination, str):
        raise BadRequest(f"unparsable DESTINATION {excerpt(destination)}: expected one of {DEST_FORMS}")
    return Flow(source=source.strip(), destination=destination.strip(), port=port, protocol=protocol,
                via=via or None, method=method, headers=headers)


def parse_flow_request(data: dict) -> tuple[Flow, Assumptions]:
    """A request dict (the --batch line / API body) → (Flow, Assumptions); BadRequest on any problem.

    Keys: from|source, to|destination, port, protocol, via, method, headers ({"Name": "value"}), and the
    assumptions proxy_mode and
    cni_enforces_policy, flat or nested under "assumptions" (the API body and stored requests nest them).
    """
    if not isinstance(data, dict):
        raise BadRequest("a trace request must be a JSON object with 'from' and 'to'")
    nested = data.get("assumptions")
    if isinstance(nested, dict):
        data = {**{k: v for k, v in nested.items() if k in ("proxy_mode", "cni_enforces_policy")},
                **{k: v for k, v in data.items() if k != "assumptions"}}
    source = data.get("from", data.get("source"))
    dest = data.get("to", data.get("destination"))
    if not source:
        raise BadRequest("missing 'from' (SOURCE): " + SOURCE_FORMS)
    if not dest:
        raise BadRequest("missing 'to' (DESTINATION): " + DEST_FORMS)
    flow = make_flow(source, dest, data.get("port"), data.get("protocol"), data.get("via"), data.get("method"),
                     data.get("headers"))
    mode = data.get("proxy_mode") or "iptables"
    enforce = data.get("cni_enforces_policy", True)
    if not isinstance(enforce, bool):
        raise BadRequest(f"cni_enforces_policy must be true or false, not {excerpt(enforce)}")
    return flow, Assumptions(proxy_mode=str(mode), cni_enforces_policy=enforce)
