"""The hostile questionnaire corpus: how long each file takes to be refused.

For every file of tests/domain/hostile_corpus.py (deep nesting, huge numbers and texts, 10 MB, tags,
duplicate keys, encodings, ...): the time `survey questionnaire check FILE` takes as a whole process,
and the time the loader itself takes in this process, beside `survey questionnaire check` of a valid
file (the example questionnaire) as the floor. Target: every file well under a second.

    python benchmarks/loader.py
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.questionnaire import QuestionnaireError, read_questionnaire  # noqa: E402
from tests.domain.hostile_corpus import write_corpus  # noqa: E402

EXAMPLE = ROOT / "tests" / "domain" / "data" / "example.yaml"


def check(path: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "questionnaire", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
    return time.perf_counter() - started, (result.stderr or result.stdout).strip()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="survey-loader-") as scratch_name:
        scratch = Path(scratch_name)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SURVEY_LOG_DIR": str(scratch / "logs")}
        corpus = write_corpus(scratch)
        floor = statistics.median(check(EXAMPLE, env)[0] for _ in range(3))
        print(f"{'file':24} {'bytes':>10} {'loader':>9} {'command':>9}  message")
        worst = 0.0
        for path in corpus:
            started = time.perf_counter()
            with contextlib.suppress(QuestionnaireError):
                read_questionnaire(path)
            loader = time.perf_counter() - started
            seconds, message = check(path, env)
            worst = max(worst, seconds)
            shown = message.replace(str(scratch) + "/", "")[:70]
            size = path.stat().st_size
            print(f"{path.stem:24} {size:>10,} {loader * 1000:>7.1f}ms {seconds * 1000:>7.0f}ms  {shown}")
    print(f"slowest command {worst * 1000:.0f} ms (target: under 1,000 ms)")
    print(f"checking a valid file {floor * 1000:.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
