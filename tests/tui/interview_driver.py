"""Run the real app headless, start an interview, answer N questions, report them, then wait.

Used by the crash test, which kills this process with SIGKILL while it waits.
"""

from __future__ import annotations

import asyncio
import sys
import time

from app import clock
from app.services.runtime import open_runtime
from app.tui.app import make_app
from tests.tui.conftest import NOW
from tests.tui.helpers import keys_for, settle, sign_in


async def main(n: int) -> None:
    clock.freeze(NOW)
    runtime = open_runtime()
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "ccaller")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*["n"] * len(app.screen.view.checks), "enter")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("1", "enter")
        await settle(pilot)
        asked = []
        for _ in range(n):
            question = app.screen.question  # type: ignore[attr-defined]
            asked.append(question.id)
            await pilot.press(*keys_for(question))
            await settle(pilot)
        print("ANSWERED " + ",".join(asked), flush=True)
        while True:  # wait to be killed, mid-interview
            time.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
