"""The bureau server: the app served to browsers, one app process per browser tab (see server.py).

This module imports nothing, so the app can ask whether it runs in a browser without loading the server.
"""

from __future__ import annotations

import os

#: Set by the server in the environment of every app process it starts.
SERVED_ENV = "SURVEY_SERVED"


def running_in_browser() -> bool:
    """True in an app process started by `survey serve` (its keyboard is a browser's)."""
    return os.environ.get(SERVED_ENV) == "1"
