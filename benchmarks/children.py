"""Running one measured piece of work in a child process, as the import and export benchmarks do.

The child times its own work and reads its own peak memory from the kernel (VmHWM in
/proc/self/status) when it ends, and prints both as JSON on its last line. A parent's getrusage of a
child would not do: Linux carries the high-water mark of the image a child was forked from across exec,
so a child of a large parent reports the parent's size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def memory_kb(field: str) -> int:
    """This process's "VmHWM" (peak resident memory) or "VmRSS" (now), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def report(seconds: float, rows: int, before_kb: int, note: str = "") -> None:
    """The child's last line: its time, rows, memory before the work and peak (KiB), and a note."""
    figures = {
        "seconds": seconds,
        "rows": rows,
        "before_kb": before_kb,
        "peak_kb": memory_kb("VmHWM"),
        "note": note,
    }
    print(json.dumps(figures), flush=True)


@dataclass(frozen=True)
class Measured:
    seconds: float
    rows: int
    before_mb: float
    peak_mb: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self, label: str) -> str:
        return (
            f"{label:<38} {self.rows:>10,} rows {self.seconds:>8.1f} s {self.rate:>10,.0f} rows/s"
            f"  peak {self.peak_mb:>5.0f} MB (before the work {self.before_mb:.0f} MB)"
        )


def run_child(module: str, *args: str) -> Measured:
    """`python -m module ARGS` from the repository; its figures, or the child's error raised."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(
        figures["seconds"],
        figures["rows"],
        figures["before_kb"] / 1024,
        figures["peak_kb"] / 1024,
        figures.get("note", ""),
    )
