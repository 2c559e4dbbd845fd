"""One table of keys: the README shows it, and every action has a key a web browser passes on."""

from __future__ import annotations

from pathlib import Path

from app.tui import keys

README = Path(__file__).parents[2] / "README.md"


def test_readme_shows_the_keys_table() -> None:
    text = README.read_text()
    start = text.index("<!-- keys table")
    start = text.index("\n", start) + 1
    end = text.index("<!-- end of keys table -->")
    assert text[start:end].strip() == keys.markdown_table()


def test_no_action_depends_on_a_key_browsers_keep() -> None:
    for key in keys.KEYS:
        if key.key in keys.BROWSER_RESERVED:
            assert not key.browser, key
    actions = {k.action.removeprefix("app.") for k in keys.KEYS}
    for action in actions:
        assert any(k.browser for k in keys.KEYS if k.action.removeprefix("app.") == action), action


def test_each_scope_binds_a_key_once() -> None:
    for scope in keys.SCOPES:
        bound = [k.key for k in keys.keys_of(scope)]
        assert len(bound) == len(set(bound)), scope
