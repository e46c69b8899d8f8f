"""Reading manifest files into documents: YAML (multi-doc), JSON, `kind: List`, directories, stdin.

A `Document` is one Kubernetes object plus where it came from, so that every later error can name
the file and the document. Documents are numbered from 1 in file order, counting empty ones (so
"document 3" is what you find after the second `---`); items of a `kind: List` (or `PodList`, …)
keep their list's number and add `item` (0-based, like `items[4]` in the file).

YAML is read with PyYAML's C loader (`CSafeLoader`): a 150,000-pod dump must load in seconds, and the
safe loader never constructs Python objects from tags. Unquoted timestamps stay strings, as in
Kubernetes' own JSON.

Hostile input: the C composer recurses once per nesting level (a 100 KB `[[[[…` document overflows the
C stack and kills the process), and aliases make a tiny file stand for a huge tree ("billion laughs":
loading is instant, but the first walk over it — parsing, JSON encoding — never ends). So every YAML
text is first read as a stream of parser events (flat, no recursion, ~25% of the load time) that
bounds the nesting depth and the size of the tree after alias expansion before anything is composed.
JSON needs no pre-scan: the json module stops at Python's recursion limit, and has no aliases.

This is the one loader for every YAML/JSON input of the project — manifests, intents files, batch lines and
API request bodies (`load_value`, `load_json`) — so every door has the same alias, depth, size and
duplicate-key limits. Duplicate keys (`metadata: {name: a, name: b}`) are refused, as kubectl's strict
decoding refuses them: silently keeping the last one would trace a different object than the user wrote.
Messages quote at most a bounded excerpt of any input value (`tracer.engine.errors.excerpt`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from tracer.engine.errors import excerpt

from .errors import ManifestError

__all__ = ["Document", "load_documents", "load_paths", "load_value", "load_json", "excerpt", "MANIFEST_SUFFIXES",
           "MAX_DEPTH"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Kubernetes objects nest ~10 levels (CRD schemas a few dozen); 100 leaves room and keeps every
# recursive walk downstream (validation, JSON columns) far from Python's recursion limit.
MAX_DEPTH = 100
# Aliases may expand the tree, but not beyond this many nodes more than the file itself holds.
MAX_ALIAS_EXPANSION = 100_000


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # C parser; pure-Python fallback only without libyaml
    """Safe loader that keeps timestamps as the strings Kubernetes uses (no datetime objects) and refuses
    duplicate keys in a mapping (merge keys `<<` may still be overridden, as YAML intends)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _v in node.value if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE]
            if len(keys) != len(set(keys)):
                seen: set = set()
                for key_node, _v in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                        if key_node.value in seen:
                            raise yaml.constructor.ConstructorError(
                                None, None, f"duplicate key {excerpt(key_node.value)} in a mapping (kubectl's "
                                "strict decoding refuses it; keep one)", key_node.start_mark)
                        seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_MERGE = "tag:yaml.org,2002:merge"


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Document(NamedTuple):
    """One object from a file: (source_file, index, data[, item])."""

    source_file: str
    index: int
    data: Any
    item: int | None = None

    def error(self, problem: str, field: str = "", kind: str = "", namespace: str = "",
              name: str = "") -> ManifestError:
        return ManifestError(problem, file=self.source_file, document=self.index, item=self.item,
                             kind=kind, namespace=namespace, name=name, field=field)


def load_documents(path_or_bytes: str | Path | bytes, name: str | None = None) -> list[Document]:
    """Documents of one input: bytes (named `name`), a file, a directory, or "-" (stdin).

    `name` also renames a single file in messages (e.g. an upload saved to a temporary path).
    """
    if isinstance(path_or_bytes, bytes | bytearray):
        return parse_bytes(bytes(path_or_bytes), name or "<input>")
    if name is not None and str(path_or_bytes) != "-" and not Path(path_or_bytes).is_dir():
        return parse_bytes(_read(Path(path_or_bytes), name), name)
    return load_paths([path_or_bytes])[0]


def load_paths(paths: list[str | Path], stdin: bytes | None = None) -> tuple[list[Document], list[tuple[str, bytes]]]:
    """Documents of several inputs in order, plus the raw (name, bytes) read, for hashing.

    A directory contributes its *.yaml|*.yml|*.json files (not recursive, sorted by name, as
    `kubectl apply -f DIR`); "-" is stdin (or the `stdin` bytes given).
    """
    docs: list[Document] = []
    payloads: list[tuple[str, bytes]] = []
    for p in paths:
        if str(p) == "-":
            data = stdin if stdin is not None else sys.stdin.buffer.read()
            payloads.append(("<stdin>", data))
            docs.extend(parse_bytes(data, "<stdin>"))
            continue
        path = Path(p)
        files = [path]
        if path.is_dir():
            files = sorted(c for c in path.iterdir() if c.is_file() and c.suffix.lower() in MANIFEST_SUFFIXES)
            if not files:
                raise ManifestError("directory holds no *.yaml, *.yml or *.json file", file=str(path))
        for f in files:
            data = _read(f, str(f))
            # The file's name only: it is stored in the snapshot's source list and in messages every reader
            # of the cluster sees, and the server's directory layout is none of their business.
            payloads.append((f.name, data))
            docs.extend(parse_bytes(data, f.name))
    return docs, payloads


def _read(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ManifestError("no such file or directory", file=shown) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror}", file=shown) from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json object_pairs_hook: a dict, or _DuplicateKey when a key appears twice (kubectl's strict decoding)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _json_loads(text: str, name: str) -> Any:
    """json.loads with duplicate keys refused and too-deep nesting as ManifestError (JSONDecodeError passes)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ManifestError("JSON nested too deeply; Kubernetes objects are far shallower", file=name) from None
    except _DuplicateKey as exc:
        raise ManifestError(f"duplicate key {excerpt(exc.args[0])} in a JSON object (kubectl's strict decoding "
                            "refuses it; keep one)", file=name) from None


def _decode(data: bytes | str, name: str, max_bytes: int | None = None) -> str:
    if max_bytes is not None and len(data) > max_bytes:
        raise ManifestError(f"is {len(data)} bytes; at most {max_bytes} are accepted here", file=name)
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text (byte {exc.start})", file=name) from None


def _check_depth(value: Any, name: str, limit: int = MAX_DEPTH) -> None:
    """Iterative depth check of a parsed value (for small inputs: request bodies, intents)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                raise ManifestError(f"nested more than {limit} levels deep", file=name)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))


def load_value(data: bytes | str, name: str, *, max_bytes: int | None = None) -> Any:
    """One YAML (or JSON) document → its value, with the manifest loader's limits (aliases, depth, duplicate
    keys, NUL characters); None for empty input. For intents files and other small structured inputs."""
    text = _decode(data, name, max_bytes)
    if not text.strip():
        return None
    raw = _raw_documents(text, name)
    values = [value for _index, value in raw if value is not None]
    if len(values) > 1:
        raise ManifestError(f"holds {len(values)} YAML documents; one is expected here", file=name)
    if values:
        _check_depth(values[0], name)
    return values[0] if values else None


def load_json(data: bytes | str, name: str = "request body", *, max_bytes: int | None = None) -> Any:
    """A JSON text (an API request body, one `--batch` line) → its value: duplicate keys refused, nesting at
    most MAX_DEPTH levels (never a RecursionError), errors without the input's text."""
    text = _decode(data, name, max_bytes)
    try:
        value = _json_loads(text, name)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", file=name) from None
    _check_depth(value, name)
    return value


def parse_bytes(data: bytes, name: str) -> list[Document]:
    """Split one file's bytes into documents (JSON when it starts with `{`/`[`, else YAML)."""
    text = _decode(data, name)
    docs: list[Document] = []
    for index, value in _raw_documents(text, name):
        if value is None:  # empty document (e.g. a trailing `---`)
            continue
        if not isinstance(value, dict):
            raise ManifestError(f"a document must be a mapping (an object), not {_type_name(value)}",
                                file=name, document=index)
        docs.extend(_flatten(Document(name, index, value)))
    return docs


def _raw_documents(text: str, name: str) -> list[tuple[int, Any]]:
    """(document number, value) of every document of a text: JSON when it starts with `{`/`[`, else YAML."""
    raw: list[tuple[int, Any]] | None = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            value = _json_loads(text, name)
        except json.JSONDecodeError as exc:
            if name.lower().endswith(".json"):
                raise ManifestError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                                    file=name) from None
            # else: JSON-looking YAML (flow style); let the YAML parser judge it
        else:
            raw = list(enumerate(value if isinstance(value, list) else [value], start=1))
    if raw is None:
        raw = _yaml_documents(text, name)
    if any(esc in text for esc in _NUL_ESCAPES):
        _reject_nul(raw, name)
    return raw


# Escapes that decode to a NUL character (a raw NUL byte is already refused by both parsers).
_NUL_ESCAPES = ("\\u0000", "\\0", "\\x00", "\\U00000000")


def _reject_nul(raw: list[tuple[int, Any]], name: str) -> None:
    """A NUL character in any key or value: PostgreSQL cannot store it in text or JSON, and no Kubernetes
    name, label or address holds one. Walked only when the text holds a NUL escape at all."""
    for index, value in raw:
        stack: list[tuple[str, Any]] = [("", value)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, str) and "\x00" in node:
                raise ManifestError("contains a NUL character (\\u0000), which cannot be stored",
                                    file=name, document=index, field=path)
            if isinstance(node, dict):
                for k, v in node.items():
                    key = str(k)
                    if "\x00" in key:
                        raise ManifestError("a key contains a NUL character (\\u0000)", file=name, document=index,
                                            field=path)
                    stack.append((f"{path}.{key}" if path else key, v))
            elif isinstance(node, list):
                stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))


def _check_yaml_shape(text: str, name: str) -> None:
    """Reject too-deep nesting and alias bombs from the event stream, before composing any node.

    Each open collection keeps the expanded size of what it holds so far; an anchored node's size is
    recorded when it closes, and an alias adds the size of the node it names (so nested aliases
    multiply exactly as their expansion would). An alias to a node still open is a cycle: refused.
    """
    depth = 0
    document = 1
    nodes = 0  # events that are nodes: what the file really holds
    expanded = 0  # nodes after alias expansion (this document)
    stack: list[list] = []  # [anchor, size so far] per open collection
    anchors: dict[str, int] = {}
    scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            cls = type(event)
            if cls is alias and any(open_anchor == event.anchor for open_anchor, _size in stack):
                raise ManifestError(f"YAML alias *{event.anchor} refers to a node that contains it (line "
                                    f"{event.start_mark.line + 1}): a recursive structure is not a manifest",
                                    file=name, document=document)
            if cls is scalar or cls is alias:
                size = anchors.get(event.anchor, 1) if cls is alias else 1
                nodes += 1
                expanded += size
                if cls is scalar and event.anchor:
                    anchors[event.anchor] = 1
                if stack:
                    stack[-1][1] += size
                if expanded > nodes + MAX_ALIAS_EXPANSION:
                    raise ManifestError(f"YAML aliases expand to more than {expanded} nodes from {nodes} "
                                        f"(line {event.start_mark.line + 1}): refusing an alias bomb",
                                        file=name, document=document)
            elif cls in opening:
                depth += 1
                nodes += 1
                expanded += 1
                if depth > MAX_DEPTH:
                    raise ManifestError(f"nested more than {MAX_DEPTH} levels deep (line "
                                        f"{event.start_mark.line + 1}); Kubernetes objects are far shallower",
                                        file=name, document=document)
                stack.append([event.anchor, 1])
            elif cls in closing:
                depth -= 1
                anchor, size = stack.pop()
                if anchor:
                    anchors[anchor] = size
                if stack:
                    stack[-1][1] += size
            elif cls is yaml.DocumentEndEvent:
                document += 1
                anchors.clear()
                expanded = nodes = 0
    except yaml.YAMLError:
        return  # a syntax error: the loader reports it with its line and column


def _yaml_documents(text: str, name: str) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    _check_yaml_shape(text, name)
    try:
        for i, value in enumerate(yaml.load_all(text, Loader=_Loader), start=1):
            out.append((i, value))
    except yaml.YAMLError as exc:
        # Format it ourselves: PyYAML's own str() may quote the offending line, which could be a
        # Secret value. Line/column and the problem are enough to find it.
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ManifestError(f"invalid YAML{at}: {problem}", file=name, document=len(out) + 1) from None
    return out


def _flatten(doc: Document) -> list[Document]:
    """`kind: List` (and typed lists such as `PodList`) → one document per item."""
    data = doc.data
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in data:
        items = data["items"]
        if items is None:
            return []
        if not isinstance(items, list):
            raise doc.error(f"must be a list, not {_type_name(items)}", field="items", kind=kind)
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise Document(doc.source_file, doc.index, item, i).error(
                    f"a list item must be a mapping, not {_type_name(item)}")
            if kind != "List":  # typed lists (PodList, …) from the API omit the items' kind and apiVersion
                if "kind" not in item:
                    item = {**item, "kind": kind[: -len("List")]}
                if "apiVersion" not in item and isinstance(data.get("apiVersion"), str):
                    item = {**item, "apiVersion": data["apiVersion"]}
            out.append(Document(doc.source_file, doc.index, item, i))
        return out
    return [doc]


def _type_name(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)
