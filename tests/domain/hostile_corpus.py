"""Questionnaire files written to break a loader, generated on demand (some are megabytes long).

Each entry is the file's bytes and a fragment the one-line message must contain. Shared by the
domain test (every file, in process) and the command-line test (`survey questionnaire check`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

EXAMPLE = (Path(__file__).parent / "data" / "example.yaml").read_text()
DEEP = 10_000


def _example(old: str, new: str) -> bytes:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1).encode()


def _block_mappings(depth: int) -> bytes:
    return ("id: x\n" + "".join(" " * level + f"k{level}:\n" for level in range(depth))).encode()


def _ten_megabytes() -> bytes:
    line = b"# a comment line padding the file out to ten megabytes, as a runaway export might\n"
    return b"id: x\n" + line * (10_000_000 // len(line))


CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "flow_lists_deep": (lambda: b"id: x\nq: " + b"[" * DEEP + b"]" * DEEP + b"\n", "levels deep"),
    "flow_mappings_deep": (lambda: b"id: x\nq: " + b"{a: " * DEEP + b"}" * DEEP + b"\n", "levels deep"),
    "block_lists_deep": (lambda: b"id: x\nq:\n" + b"- " * DEEP + b"x\n", "levels deep"),
    "block_mappings_deep": (lambda: _block_mappings(1_400), "levels deep"),
    "mixed_deep": (lambda: b"id: x\nq:\n" + b"- " * DEEP + b"[" * DEEP + b"]" * DEEP + b"\n", "levels deep"),
    "huge_version": (lambda: _example("version: 1", "version: " + "9" * 5_000), "characters long"),
    "huge_code": (lambda: _example("{code: 3,", "{code: " + "3" * 5_000 + ","), "characters long"),
    "huge_negative": (lambda: _example("min: 0", "min: -" + "7" * 5_000), "characters long"),
    "huge_float": (lambda: _example("min: 0", "min: " + "1" * 5_000 + ".5"), "characters long"),
    "huge_hex": (lambda: _example("version: 1", "version: 0x" + "f" * 5_000), "characters long"),
    "huge_title": (
        lambda: _example("title: Example", "title: " + "x" * 1_500_000 + " Example"),
        "characters long",
    ),
    "huge_key": (lambda: _example("title: Example", "k" * 1_500_000 + ": 1\ntitle: Example"), "expected"),
    "huge_line": (lambda: b"id: x\ntitle: [" + b"a, " * 600_000 + b"b]\n", "values"),
    "many_keys": (lambda: ("".join(f"k{i}: {i}\n" for i in range(100_000))).encode(), "values"),
    "in_empty": (lambda: _example("in: [2]}", "in: []}"), "'in' lists no codes"),
    "not_in_empty": (lambda: _example("in: [2]}", "not_in: []}"), "'not_in' lists no codes"),
    "ten_megabytes": (_ten_megabytes, "larger than"),
    "duplicate_keys": (lambda: _example("version: 1", "version: 1\nversion: 2"), "duplicate key 'version'"),
    "python_object": (lambda: b"id: !!python/object:os.system {}\n", "tags"),
    "python_apply": (lambda: b"id: !!python/object/apply:os.system ['true']\n", "tags"),
    "python_name": (lambda: b"id: !!python/name:os.system ''\n", "tags"),
    "binary": (lambda: b"id: !!binary aGVsbG8=\n", "tags"),
    "set": (lambda: b"id: x\nq: !!set {a, b}\n", "tags"),
    "omap": (lambda: b"id: x\nq: !!omap [a: 1]\n", "tags"),
    "local_tag": (lambda: b"id: !custom x\n", "tags"),
    "tagged_key": (lambda: b"!!python/object:os.system id: x\n", "tags"),
    "utf16": (lambda: EXAMPLE.encode("utf-16"), "UTF-16"),
    "bom_and_broken": (lambda: b"\xef\xbb\xbfid: x\ntitle: [oops\n", "invalid YAML"),
    "bom_inside": (lambda: b"id: x\ntitle: a\n\xef\xbb\xbf\xef\xbb\xbfversion: 1\n", ""),
    "nul": (lambda: b"id: x\ntitle: a\x00b\n", "NUL"),
    "latin1": (lambda: b"id: x\ntitle: caf\xe9\n", "UTF-8"),
    "control_chars": (lambda: b"id: x\ntitle: \x1b[31mred\x07\n", ""),
    "alias_bomb": (lambda: b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "anchors"),
    "merge_key": (lambda: b"id: x\n<<: {title: y}\n", ""),
    "two_documents": (lambda: b"id: x\n---\nid: y\n", ""),
    "bad_date": (lambda: b"id: x\nq: 2026-13-45\n", ""),
}


def write_corpus(folder: Path) -> dict[Path, str]:
    """Write every file of the corpus into `folder`: its path and the fragment its message must contain."""
    written = {}
    for name, (make, expected) in CORPUS.items():
        path = folder / f"{name}.yaml"
        path.write_bytes(make())
        written[path] = expected
    return written
