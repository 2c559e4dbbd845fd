"""Safe YAML loading that remembers the line of every key, so errors can say FILE:LINE.

Anchors and aliases are refused outright: a questionnaire has no use for them, and refusing them is
the simplest sure defence against alias bombs ("billion laughs").
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

MAX_BYTES = 2_000_000
MAX_DEPTH = 64


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


def load_marked(text: str | bytes) -> MarkedDocument:
    """Parse one YAML document into plain data with line marks; raise YamlProblem on anything odd."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise YamlProblem(1, f"file is larger than {MAX_BYTES // 1_000_000} MB")
        if b"\x00" in text:
            raise YamlProblem(1, "not a text file (contains NUL bytes)")
        try:
            decoded = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise YamlProblem(line, "not UTF-8 text") from None
        text = decoded
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    if node is None:
        raise YamlProblem(1, "the file is empty")
    _refuse_anchors(text)
    doc = MarkedDocument(data=None)
    builder = _Builder(doc.lines)
    doc.data = builder.build(node, (), 0)
    return doc


_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s]")


def _refuse_anchors(text: str) -> None:
    """An anchor (&name) is refused even when no alias uses it: the format has no use for either."""
    if not _MAYBE_ANCHOR.search(text):
        return
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AnchorToken):
            raise YamlProblem(
                token.start_mark.line + 1,
                f"YAML anchors and aliases (&{token.value}, *{token.value}) are not allowed: write the value"
                " out in full (and a text starting with & in quotes)",
            )


class _Builder:
    def __init__(self, lines: dict[Path_, int]) -> None:
        self.lines = lines
        self.seen: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        line = node.start_mark.line + 1
        if depth > MAX_DEPTH:
            raise YamlProblem(line, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self.seen:
            raise YamlProblem(line, "YAML anchors and aliases (& and *) are not allowed")
        self.seen.add(id(node))
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            result: dict[Hashable, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(key_line, "YAML merge keys (<<) are not allowed")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlProblem(key_line, "a key must be a plain word")
                key = self.constructor.construct_object(key_node)
                if not isinstance(key, str | int | bool) or isinstance(key, float):
                    raise YamlProblem(key_line, f"unexpected key {key!r}")
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    raise YamlProblem(key_line, f"duplicate key '{key}'")
                self.lines[(*path, key)] = key_line
                result[key] = self.build(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index), depth + 1))
            return items
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            raise YamlProblem(line, f"invalid value: {str(exc).splitlines()[0]}") from None
        except ValueError:  # a date that does not exist, such as 2026-13-01
            raise YamlProblem(line, f"'{node.value}' is not a real date: write it like 2026-04-01") from None
