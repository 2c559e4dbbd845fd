"""Type-ahead: keys pressed while a screen is busy wait, in order, for the screen to be ready.

Textual delivers a key to the focused widget's own queue and resolves the screen's bindings only
when the key has bubbled back up, so in a burst ("1 Enter 7 Enter") the 7 reaches the old question's
options before Enter has even started the save. Blaise's answer is type-ahead, and so is ours: the app
looks at every key in the order it arrived. Once a key that moves the screen on (Enter, back) has gone
through, the keys after it are held here until the screen says it is ready (the answer is stored and
the next question is on screen, or the save failed and the caller is back on the question); then they
are applied, in order, to what is now on screen. Keys that must act at once (quick exit, the alert,
quit) are never held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.app import App

InputEvent = events.Key | events.Paste


class TypeAhead:
    """The held keys of one screen; the app feeds it every key, the screen says when it is ready."""

    def __init__(self, *, moves_on: frozenset[str], immediate: frozenset[str]) -> None:
        self.moves_on = moves_on  # keys after which the screen is busy until ready()
        self.immediate = immediate  # keys never held
        self.waiting = False
        self.held: deque[InputEvent] = deque()
        self._draining = False
        self._dispatch: Callable[[InputEvent], Awaitable[None]] | None = None
        self._schedule: Callable[[Callable[[], Awaitable[None]]], object] | None = None
        self._accepting: Callable[[], bool] = lambda: True

    def attach(
        self,
        dispatch: Callable[[InputEvent], Awaitable[None]],
        schedule: Callable[[Callable[[], Awaitable[None]]], object],
        accepting: Callable[[], bool],
    ) -> None:
        """The app's way of delivering a key, of running later, and whether the screen is on top."""
        self._dispatch = dispatch
        self._schedule = schedule
        self._accepting = accepting

    @property
    def attached(self) -> bool:
        return self._dispatch is not None

    def take(self, event: InputEvent) -> bool:
        """Called for every key as it arrives: True when it is held (the app must not deliver it)."""
        if isinstance(event, events.Key) and event.key in self.immediate:
            return False
        if self.waiting or self.held or self._draining:
            self.held.append(event)
            return True
        self._passing(event)
        return False

    def _passing(self, event: InputEvent) -> None:
        if isinstance(event, events.Key) and event.key in self.moves_on:
            self.waiting = True

    def ready(self) -> None:
        """The screen is ready for keys again: apply the held ones, in order."""
        self.waiting = False
        if self.held and self._schedule is not None and not self._draining:
            self._draining = True
            self._schedule(self._drain)

    def discard(self) -> None:
        """The screen has gone (the interview ended): what was typed ahead is dropped."""
        self.held.clear()
        self.waiting = False

    async def _drain(self) -> None:
        try:
            while self.held and not self.waiting and self._accepting() and self._dispatch is not None:
                event = self.held.popleft()
                self._passing(event)
                await self._dispatch(_fresh(event))
        finally:
            self._draining = False


def held_for_screen(
    app: App[Any], event: events.Event, deliver: Callable[[InputEvent], Awaitable[None]]
) -> bool:
    """The app's part: give each key to the top screen's type-ahead; True when it is held there."""
    if not isinstance(event, events.Key | events.Paste) or event.is_forwarded:
        return False
    gate = getattr(app.screen, "type_ahead", None)
    if not isinstance(gate, TypeAhead):
        return False
    if not gate.attached:
        owner = app.screen
        gate.attach(deliver, app.call_later, lambda: app.screen is owner)
    return gate.take(event)


def _fresh(event: InputEvent) -> InputEvent:
    """A new event object for one that was held (an event is delivered once)."""
    if isinstance(event, events.Key):
        return events.Key(event.key, event.character)
    return events.Paste(event.text)
