"""Keeping Python's full garbage collections out of a call.

The app's long-lived objects (modules, Textual's widgets and styles, SQLAlchemy's mappings, the
questionnaires) number in the hundreds of thousands, and each full collection walks them all: measured
during interviews (benchmarks/keystroke.py), dozens of them took 200 to 470 ms each, a screen frozen in
the middle of a question. So each time the home screen is shown (after sign-in, and after each call),
everything is collected once, there, and what is alive then frozen (gc.freeze): collections during
the next call walk only what was made since. Unfreezing first lets the one collection there find
what died since the last (a frozen object is never collected), so nothing piles up over a shift.
With so little left to walk, a full collection during a call is also asked for ten times less often
than Python's default (after 100 collections of the middle generation instead of 10): the home screen
does the real sweeping.
"""

from __future__ import annotations

import gc

#: Collections of the middle generation between two full collections (Python's default is 10).
FULL_COLLECTION_EVERY = 100


def settle_memory() -> None:
    """Collect what is garbage now, then leave everything still alive out of later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, FULL_COLLECTION_EVERY)
