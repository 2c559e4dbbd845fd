"""Safe YAML loading that remembers the line of every key, so errors can say FILE:LINE.

The data is built straight from the parser's events (libyaml's, through PyYAML's CSafeLoader, when it
is installed; PyYAML's pure-Python parser otherwise), with an explicit stack rather than recursion, so
whatever a file holds is refused with a line number as soon as it is seen: nesting deeper than
MAX_DEPTH, more than MAX_NODES values, a text or a number too long to be meant, anchors and aliases (the
simplest sure defence against alias bombs, "billion laughs"), and any tag (`!!python/object`,
`!!binary`, `!custom`). Only plain data comes out: mappings, lists, text, numbers, true/false, dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.domain.readfile import MAX_BYTES, read_bounded

__all__ = ["MAX_BYTES", "MarkedDocument", "YamlProblem", "decode", "load_marked", "read_bounded"]

Path_ = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_NODES = 20_000  # the largest bundled questionnaire has under 1,000
MAX_TEXT_CHARS = 20_000  # one value: a question's text is a few hundred
MAX_NUMBER_CHARS = 40  # a questionnaire's numbers are codes, versions and bounds: a few digits

_TAG = "tag:yaml.org,2002:"
#: The tags plain data resolves to (written out, `!!str "1"` is fine too); any other tag is refused.
_PLAIN_SCALARS = frozenset(_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp"))
_NUMBERS = frozenset((_TAG + "int", _TAG + "float"))
_MAPPING = frozenset((_TAG + "map",))
_SEQUENCE = frozenset((_TAG + "seq",))

_Loader: type[yaml.SafeLoader] | type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """The text is not a YAML document we accept; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class MarkedDocument:
    """Plain Python data plus the line of each key or list item, addressed by its path."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, loc: Path_) -> int:
        """Line of the deepest part of `loc` that exists in the document.

        Components that are not keys (such as a pydantic union tag) are skipped.
        """
        best = self.lines.get((), 1)
        path: Path_ = ()
        for part in loc:
            candidate = (*path, part)
            if candidate in self.lines:
                path = candidate
                best = self.lines[path]
        return best


def decode(raw: bytes) -> str:
    """A file's bytes as text: UTF-8, with or without a byte order mark; YamlProblem otherwise."""
    if len(raw) > MAX_BYTES:
        raise YamlProblem(1, f"file is larger than {MAX_BYTES // 1_000_000} MB")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlProblem(1, "UTF-16 text: save the file as UTF-8")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise YamlProblem(line, "not a text file (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(line, "not UTF-8 text") from None


def load_marked(text: str | bytes) -> MarkedDocument:
    """Parse one YAML document into plain data with line marks; raise YamlProblem on anything odd."""
    if isinstance(text, bytes):
        text = decode(text)
    elif len(text) > MAX_BYTES:
        raise YamlProblem(1, f"file is larger than {MAX_BYTES // 1_000_000} MB")
    doc = MarkedDocument(data=None)
    builder = _Builder(doc.lines)
    try:
        found = builder.build(_events(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in problem:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep") from None
        raise YamlProblem(line, f"invalid YAML: {problem[:200]}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlProblem(line, f"invalid character #x{exc.character:04x}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"invalid YAML: {str(exc).splitlines()[0][:200]}") from None
    if not found:
        raise YamlProblem(1, "the file is empty")
    doc.data = builder.root
    return doc


def _events(text: str) -> Iterator[yaml.Event]:
    parser = _Loader(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


@dataclass
class _Open:
    """A mapping or list being built: where it is, and (in a mapping) the key waiting for its value."""

    value: dict[str, Any] | list[Any]
    path: Path_
    key: str | None = None


class _Builder:
    """Plain data from parser events, refusing anything a questionnaire has no use for."""

    def __init__(self, lines: dict[Path_, int]) -> None:
        self.lines = lines
        self.root: Any = None
        self.open: list[_Open] = []
        self.nodes = 0
        self.documents = 0
        self.resolver = _Loader("")

    def build(self, events: Iterator[yaml.Event]) -> bool:
        """Consume the events; whether the stream held a document."""
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    problem = "a second document (after ---): a file holds one questionnaire"
                    raise YamlProblem(_line(event), problem)
            elif isinstance(event, yaml.CollectionEndEvent):
                finished = self.open.pop()
                if not self.open:
                    self.root = finished.value
            elif isinstance(event, yaml.NodeEvent):
                self._node(event)
        return self.documents > 0

    def _node(self, event: yaml.NodeEvent) -> None:
        line = _line(event)
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            name = event.anchor
            raise YamlProblem(
                line,
                f"YAML anchors and aliases (&{name}, *{name}) are not allowed: write the value out in full"
                " (and a text starting with & or * in quotes)",
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlProblem(line, f"more than {MAX_NODES:,} values: is this a questionnaire?")
        parent = self.open[-1] if self.open else None
        if isinstance(parent, _Open) and isinstance(parent.value, dict) and parent.key is None:
            self._key(parent, event, line)
            return
        path = self._place(parent, line)
        if isinstance(event, yaml.ScalarEvent):
            self._attach(parent, path, self._scalar(event, line))
            return
        assert isinstance(event, yaml.CollectionStartEvent)
        mapping = isinstance(event, yaml.MappingStartEvent)
        _refuse_tag(event.tag, _MAPPING if mapping else _SEQUENCE, line)
        if len(self.open) >= MAX_DEPTH:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
        value: dict[str, Any] | list[Any] = {} if mapping else []
        self._attach(parent, path, value)
        self.open.append(_Open(value, path))

    def _key(self, mapping: _Open, event: yaml.NodeEvent, line: int) -> None:
        if not isinstance(event, yaml.ScalarEvent):
            raise YamlProblem(line, "a key must be a plain word")
        if event.tag is None and event.implicit[0] and event.value == "<<":
            raise YamlProblem(line, "YAML merge keys (<<) are not allowed")
        key = self._scalar(event, line)
        if not isinstance(key, str | int | bool) or isinstance(key, float):
            raise YamlProblem(line, f"unexpected key {str(key)[:40]!r}")
        key = key if isinstance(key, str) else str(key)
        assert isinstance(mapping.value, dict)
        if key in mapping.value:
            raise YamlProblem(line, f"duplicate key '{key[:60]}'")
        self.lines[(*mapping.path, key)] = line
        mapping.key = key

    def _place(self, parent: _Open | None, line: int) -> Path_:
        """The path of the value starting now, with its line noted."""
        if parent is None:
            path: Path_ = ()
        elif isinstance(parent.value, list):
            path = (*parent.path, len(parent.value))
            self.lines[path] = line
        else:
            assert parent.key is not None
            path = (*parent.path, parent.key)
        self.lines.setdefault(path, line)
        return path

    def _attach(self, parent: _Open | None, path: Path_, value: Any) -> None:
        if parent is None:
            self.root = value
        elif isinstance(parent.value, list):
            parent.value.append(value)
        else:
            assert parent.key is not None
            parent.value[parent.key] = value
            parent.key = None

    def _scalar(self, event: yaml.ScalarEvent, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        _refuse_tag(tag, _PLAIN_SCALARS, line)
        if len(event.value) > MAX_TEXT_CHARS:
            raise YamlProblem(line, f"a value {len(event.value):,} characters long: is this a questionnaire?")
        if tag in _NUMBERS and len(event.value) > MAX_NUMBER_CHARS:
            raise YamlProblem(
                line,
                f"a number {len(event.value):,} characters long: write at most {MAX_NUMBER_CHARS}"
                " (and a long text in quotes)",
            )
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            return self.resolver.construct_object(node)
        except yaml.YAMLError as exc:
            raise YamlProblem(line, f"invalid value: {str(exc).splitlines()[0][:200]}") from None
        except ValueError:  # a date that does not exist, such as 2026-13-01
            shown = event.value[:40]
            if tag == _TAG + "timestamp":
                raise YamlProblem(line, f"'{shown}' is not a real date: write it like 2026-04-01") from None
            raise YamlProblem(line, f"'{shown}' is not a value YAML can read: write it in quotes") from None


def _refuse_tag(tag: str | None, allowed: frozenset[str], line: int) -> None:
    if tag is not None and tag not in allowed:
        shown = tag.replace(_TAG, "!!")[:60]
        raise YamlProblem(
            line, f"YAML tags such as {shown} are not allowed: write plain text, numbers and lists"
        )


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1
