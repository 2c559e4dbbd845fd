"""Keeping Python's full garbage collections out of a call.

The app's long-lived objects (modules, Textual's widgets and styles, SQLAlchemy's mappings, the
questionnaires) number in the hundreds of thousands, and each full collection walks them all: measured
during interviews (benchmarks/keystroke.py), dozens of them took 200 to 470 ms each, a screen frozen in
the middle of a question. So each time the home screen is shown (after sign-in, and after each call),
everything is collected once, there, and what is alive then frozen (gc.freeze): collections during
the next call walk only what was made since. Unfreezing first lets the one collection there find
what died since the last (a frozen object is never collected), so nothing piles up over a shift.
"""

from __future__ import annotations

import gc


def settle_memory() -> None:
    """Collect what is garbage now, then leave everything still alive out of later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
