"""Export speed and memory: generated interviews exported, beside the csv module writing the same rows.

    python benchmarks/export.py [--rows 100000 1000000] [--formats csv sav parquet xlsx]
                                [--smallest-also parquet xlsx] [--keep DIR]

For each size, into a fresh SQLite file (and, with SURVEY_BENCH_POSTGRES_URL set, e.g.
postgresql://postgres@127.0.0.1:5432/postgres, a scratch PostgreSQL database created beside that one and
dropped afterwards): N domestic abuse interviews over a year (tests/services/big_export.py: INSERT ...
SELECT, about 93% completed, answers to the measure questions, the comments and the quote consent, a
correction on every 97th). Then, each in a child process of its own that times its work and reads its
own peak memory (VmHWM) from the kernel:

- the export (`export_interviews`, as `survey export` calls it) to each format asked (csv always), and
  at the smallest size also to those of --smallest-also;
- the floor: Python's csv module writing the same rows (read back from the CSV export a block at a time;
  only the writing is timed).

Prints rows per second, peak memory, the ratio of each export to the floor, and of the largest size's
time to the smallest's (linear time: 10x the rows within 11x the time). All data is synthetic.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.pool import NullPool  # noqa: E402

from benchmarks.children import Measured, memory_kb, report, run_child  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"
TARGET_PEAK_MB = 400
LINEAR = 11.0
BLOCK = 10_000
FORMATS = ["csv", "sav", "parquet", "xlsx"]


# ------------------------------------------------------------------ the children


def child_export(url: str, output: str) -> None:
    """Export every generated interview to `output` (its format from the extension)."""
    from app.domain.permissions import Actor
    from app.services.catalogue import bundled_dir, load_catalogue
    from app.services.export import export_interviews, parse_format
    from app.store.db import make_engine, make_session_factory
    from tests.services.big_export import END, START, SURVEY

    fmt = parse_format(None, Path(output))
    if fmt.value in ("sav", "parquet", "xlsx"):  # loaded before the baseline, as a command would load it
        __import__({"sav": "pyreadstat", "parquet": "pyarrow.parquet", "xlsx": "openpyxl"}[fmt.value])
    catalogue = load_catalogue(bundled_dir())
    engine = make_engine(url)
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    with make_session_factory(engine).begin() as session:
        result = export_interviews(session, Actor.system(), catalogue, SURVEY, START, END, fmt, output)
    seconds = time.perf_counter() - started
    engine.dispose()
    report(seconds, result.interviews, before)


def child_floor(source: str, output: str) -> None:
    """Write the rows of the CSV export `source` to `output` with the csv module (writing timed only)."""
    before = memory_kb("VmRSS")
    seconds, rows = 0.0, 0
    with (
        open(source, encoding="utf-8-sig", newline="") as inp,
        open(output, "w", encoding="utf-8-sig", newline="") as out,
    ):
        reader, writer = csv.reader(inp), csv.writer(out)
        while True:
            block = [row for _, row in zip(range(BLOCK), reader, strict=False)]
            if not block:
                break
            started = time.perf_counter()
            writer.writerows(block)
            seconds += time.perf_counter() - started
            rows += len(block)
    report(seconds, rows - 1, before)  # the header is not a row


# ------------------------------------------------------------------ the parent


def generate(url: str, n: int) -> float:
    from app.services.catalogue import bundled_dir, load_catalogue, register
    from app.store.db import make_engine, make_session_factory
    from app.store.migrate import upgrade
    from tests.services.big_export import SURVEY, generate_interviews

    catalogue = load_catalogue(bundled_dir())
    questionnaire = catalogue.get(SURVEY)
    answered = {m.question for m in questionnaire.measures} | {"comments", "consent_quote"}
    upgrade(url)
    engine = make_engine(url, poolclass=NullPool) if url.startswith("postgresql") else make_engine(url)
    started = time.perf_counter()
    try:
        generate_interviews(engine, questionnaire, n, answered=answered)
        with make_session_factory(engine).begin() as session:
            register(session, catalogue)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def bench(label: str, url: str, n: int, formats: list[str], folder: Path) -> dict[str, Measured]:
    seconds = generate(url, n)
    print(f"\n{label}, {n:,} interviews generated in {seconds:.1f} s")
    results: dict[str, Measured] = {}
    for fmt in ["csv", *[f for f in formats if f != "csv"]]:
        output = folder / f"export.{fmt}"
        results[fmt] = run_child("benchmarks.export", "--child-export", url, str(output))
        print(results[fmt].line(f"  export to {fmt}"))
    floor = run_child(
        "benchmarks.export", "--child-floor", str(folder / "export.csv"), str(folder / "floor.csv")
    )
    results["floor"] = floor
    print(floor.line("  floor: csv module writing the rows"))
    for fmt, measured in results.items():
        if fmt != "floor":
            print(f"  {fmt}: {measured.seconds / floor.seconds:,.0f}x the floor's time")
    for leftover in folder.glob("export*"):
        leftover.unlink()
    (folder / "floor.csv").unlink(missing_ok=True)
    return results


def summary(label: str, sizes: list[int], runs: dict[int, dict[str, Measured]]) -> bool:
    ok = True
    small, large = min(sizes), max(sizes)
    for fmt in runs[large]:
        peak = runs[large][fmt].peak_mb
        line = f"{label} {fmt:>7}: peak at {large:,} {peak:.0f} MB"
        if fmt != "floor":
            ok &= peak < TARGET_PEAK_MB
            line += f" (target {TARGET_PEAK_MB} MB: {'met' if peak < TARGET_PEAK_MB else 'MISSED'})"
        if large != small and fmt in runs[small]:
            ratio = runs[large][fmt].seconds / runs[small][fmt].seconds
            linear = ratio <= LINEAR * large / small / 10
            ok &= linear or fmt == "floor"
            verdict = "linear" if linear else "NOT linear"
            line += f"; {large:,} took {ratio:.1f}x the time of {small:,} ({verdict})"
        print(line)
    return ok


def formats(args: argparse.Namespace, n: int) -> list[str]:
    extra = args.smallest_also if n == min(args.rows) else []
    return list(dict.fromkeys([*args.formats, *extra]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--formats", nargs="+", default=["csv"], choices=FORMATS)
    parser.add_argument("--smallest-also", nargs="+", default=[], choices=FORMATS)
    parser.add_argument("--keep", type=Path, help="keep the SQLite databases here")
    parser.add_argument("--child-export", nargs=2, metavar=("URL", "OUTPUT"), help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", nargs=2, metavar=("CSV", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        child_export(*args.child_export)
        return 0
    if args.child_floor:
        child_floor(*args.child_floor)
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="survey-bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    ok = True
    sqlite: dict[int, dict[str, Measured]] = {}
    for n in args.rows:
        database = folder / f"export-{n}.db"
        for leftover in folder.glob(f"export-{n}.db*"):
            leftover.unlink()
        sqlite[n] = bench("SQLite", f"sqlite:///{database}", n, formats(args, n), folder)
        if not args.keep:
            for leftover in folder.glob(f"export-{n}.db*"):
                leftover.unlink()
    postgres: dict[int, dict[str, Measured]] = {}
    admin_url = os.environ.get(POSTGRES_ENV, "").strip()
    for n in args.rows if admin_url else []:
        url, drop = scratch_postgres(admin_url)
        try:
            postgres[n] = bench("PostgreSQL", url, n, formats(args, n), folder)
        finally:
            drop()
    print()
    ok &= summary("SQLite", args.rows, sqlite)
    if postgres:
        ok &= summary("PostgreSQL", args.rows, postgres)
    else:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is not set)")
    if not args.keep:
        folder.rmdir()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
