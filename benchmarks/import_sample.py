"""Sample import speed and memory: synthetic extracts imported, beside the csv module and the driver.

    python benchmarks/import_sample.py [--rows 100000 1000000] [--keep DIR] [--profile]

For each size: a synthetic extract, imported into a fresh SQLite file (and, with
SURVEY_BENCH_POSTGRES_URL set, e.g. postgresql://postgres@127.0.0.1:5432/postgres, a scratch PostgreSQL
database created beside that one and dropped afterwards), in one transaction, committed. Each run is a
child process of its own that times its work and reads its own peak memory (VmHWM) from the kernel:

- the import (`import_sample`, as `survey sample import` calls it), nothing cached;
- the floor: Python's csv module reading the same file and the driver's executemany of its rows into a
  bare table of text columns, in the same database.

Prints rows per second, peak memory, the import's ratio to the floor, the largest size's time against
the smallest's (linear: 10x the rows within 11x the time), and the uncached cost of checking one
telephone number.

All data is synthetic: made-up names, and telephone numbers only from Ofcom's drama ranges that
`phonenumbers` accepts (each range is checked before use).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import logging
import os
import pstats
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from app.clock import today  # noqa: E402
from app.domain.permissions import Actor  # noqa: E402
from app.domain.phones import clear_cache, normalise_uk_phone  # noqa: E402
from app.services.catalogue import bundled_dir, load_catalogue  # noqa: E402
from app.services.sample import COLUMNS, import_sample  # noqa: E402
from app.store.db import make_engine, make_session_factory  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Case  # noqa: E402
from benchmarks.children import Measured, memory_kb, report, run_child  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"
TARGET_PEAK_MB = 400
LINEAR = 11.0
#: Rows the floor hands the driver at a time.
FLOOR_BLOCK = 2000

#: Ofcom drama ranges, as the part before the last three digits (000 to 999).
DRAMA_RANGES = (
    "020 7946 0",
    "0113 496 0",
    "0114 496 0",
    "0115 496 0",  # rejected by phonenumbers 9.0 (checked below)
    "0116 496 0",
    "0117 496 0",
    "0118 496 0",
    "0121 496 0",
    "0131 496 0",
    "0141 496 0",
    "0151 496 0",
    "0161 496 0",
    "0191 498 0",
    "028 9649 6",
    "029 2018 0",
    "01632 960",  # reserved for drama, but phonenumbers rejects it
    "07700 900",  # likewise
)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = words(
    "Alma Brin Cass Dell Eda Fenn Gil Hale Isla Jory Kit Lorn Mab Ned Opal Pim Quin Rue Sol Tam Una Vim Wyn"
    " Xan Yew Zed Arlo Bex Cobb Dara Elm Fitch Gale Hob Ives Juno Kell Lark Moss Nell"
)
SURNAMES = words(
    "Quenby Oswick Pellow Varrow Morrin Carrow Sorrell Dunmere Larchmont Fairweather Tillery Ormsby Quarrie"
    " Rackley Selby Tamsin Umber Vellacott Wexcombe Yarrow Zeal Abbot Bramble Coldharbour Pendle Brackwater"
    " Hollin Marchbank Netherby Oakridge Pilkin Rookwood Stainby Thackery Underhill Wainfleet"
)
DISTRICTS = {
    "North": ["Ashby", "Carrow", "Dunholm"],
    "South": ["Bly", "Elmby", "Fairholt"],
    "East": ["Gorsey", "Hamble", "Ingleby"],
}


def usable_ranges() -> list[str]:
    """The drama ranges whose every number phonenumbers accepts."""
    return [
        prefix
        for prefix in DRAMA_RANGES
        if all(
            phonenumbers.is_valid_number(phonenumbers.parse(f"{prefix}{n:03d}", "GB")) for n in range(1000)
        )
    ]


def drama_number(rng: random.Random, ranges: list[str]) -> str:
    """A drama number written as records clerks do: spaced, run together, or international."""
    national = f"{rng.choice(ranges)}{rng.randrange(1000):03d}"
    style = rng.random()
    if style < 0.6:
        return national
    if style < 0.8:
        return national.replace(" ", "")
    return "+44 " + national[1:]


def write_extract(path: Path, rows: int, on: date, seed: int = 2026) -> None:
    """A valid extract: four surveys, windows waiting, open and over, some flags, some unknown birthdays."""
    rng = random.Random(seed)
    ranges = usable_ranges()
    print(f"drama ranges accepted by phonenumbers: {len(ranges)} of {len(DRAMA_RANGES)}")
    surveys = ["domestic_abuse"] * 4 + ["burglary"] * 3 + ["hate_crime"] * 2 + ["rape"]
    flag = {False: "N", True: "Y"}
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(COLUMNS) + "\r\n")
        for n in range(rows):
            reported = on - timedelta(days=rng.randint(0, 200))
            born = reported - timedelta(days=rng.randint(14 * 365, 85 * 365))
            division = rng.choice(list(DISTRICTS))
            values = {
                "crime_ref": f"{n // 100_000 + 24:02d}/{n % 100_000:06d}/{reported:%y}",
                "survey": rng.choice(surveys),
                "victim_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                "phone": drama_number(rng, ranges),
                "alt_phone": drama_number(rng, ranges) if rng.random() < 0.2 else "",
                "date_of_birth": ""
                if rng.random() < 0.05
                else born.strftime(rng.choice(("%Y-%m-%d", "%d/%m/%Y"))),
                "report_date": reported.isoformat(),
                "division": division,
                "district": rng.choice(DISTRICTS[division]),
                "risk_level": rng.choice(("standard", "standard", "medium", "high", "")),
                "opted_out": flag[rng.random() < 0.02],
                "vulnerable": flag[rng.random() < 0.02],
                "nfa_requested": flag[rng.random() < 0.02],
                "not_cooperating": flag[rng.random() < 0.02],
            }
            out.write(",".join(values[c] for c in COLUMNS) + "\r\n")


class _StageLog(logging.Handler):
    """Keeps the import's own log line of its stages' timings (no personal data)."""

    last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage().split("; ", 1)[-1]


def child_import(url: str, extract: str) -> None:
    """Import the extract into the (migrated) database at `url`, in one transaction, nothing cached."""
    catalogue = load_catalogue(bundled_dir())
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    stages = _StageLog()
    logging.getLogger("app.services.sample").addHandler(stages)
    logging.getLogger("app.services.sample").setLevel(logging.INFO)
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    with sessions.begin() as session:
        summary = import_sample(session, Actor.system(), catalogue, extract)
    seconds = time.perf_counter() - started
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Case)) or 0
    engine.dispose()
    if stored != summary.imported:
        raise RuntimeError(f"{stored} cases stored, {summary.imported} imported")
    report(seconds, summary.imported + summary.already_present, before, stages.last)


def child_floor(url: str, extract: str) -> None:
    """The floor: the csv module reading the extract, the driver's executemany of its rows (a block at a
    time) into a bare table of text columns, committed once; the same connection settings as the app."""
    engine = make_engine(url)
    connection = engine.raw_connection()
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(f"{c} TEXT" for c in COLUMNS)
    insert = f"INSERT INTO floor_rows VALUES ({', '.join([marker] * len(COLUMNS))})"
    before = memory_kb("VmRSS")
    started = time.perf_counter()
    cursor = connection.cursor()
    if (
        engine.dialect.name == "sqlite"
    ):  # the driver is left in autocommit mode: one transaction, as the import
        cursor.execute("BEGIN")
    cursor.execute(f"CREATE TABLE floor_rows ({columns})")
    rows = 0
    with open(extract, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        while block := [row for _, row in zip(range(FLOOR_BLOCK), reader, strict=False)]:
            cursor.executemany(insert, block)
            rows += len(block)
    connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    engine.dispose()
    report(seconds, rows, before)


def bench(label: str, url: str, path: Path, rows: int) -> dict[str, Measured]:
    upgrade(url)
    results = {
        "import": run_child("benchmarks.import_sample", "--child-import", url, str(path)),
        "floor": run_child("benchmarks.import_sample", "--child-floor", url, str(path)),
    }
    print(f"{label}, {rows:,} rows:")
    print(results["import"].line("  survey sample import"))
    print(f"    stages: {results['import'].note}")
    print(results["floor"].line("  floor: csv reader + executemany"))
    ratio = results["import"].seconds / results["floor"].seconds
    print(f"  import: {ratio:.1f}x the floor's time")
    return results


def summary(label: str, sizes: list[int], runs: dict[int, dict[str, Measured]]) -> bool:
    small, large = min(sizes), max(sizes)
    ok = True
    for what in ("import", "floor"):
        peak = runs[large][what].peak_mb
        line = f"{label} {what}: peak at {large:,} rows {peak:.0f} MB"
        if what == "import":
            ok &= peak < TARGET_PEAK_MB
            line += f" (target {TARGET_PEAK_MB} MB: {'met' if peak < TARGET_PEAK_MB else 'MISSED'})"
        if large != small:
            ratio = runs[large][what].seconds / runs[small][what].seconds
            linear = ratio <= LINEAR * large / small / 10
            if what == "import":
                ok &= linear
            verdict = "linear" if linear else "NOT linear"
            line += f"; {large:,} rows took {ratio:.1f}x the time of {small:,} ({verdict})"
        print(line)
    return ok


def phone_cost(path: Path) -> None:
    """The uncached cost of one number, for extracts where (unlike this one) nearly every number differs."""
    numbers = sorted({line.split(",")[3] for line in path.read_text().splitlines()[1:]})
    clear_cache()
    start = time.perf_counter()
    for number in numbers:
        normalise_uk_phone(number)
    per_number = (time.perf_counter() - start) / len(numbers)
    clear_cache()
    print(
        f"phone numbers: {per_number * 1e6:.0f} us each uncached ({len(numbers):,} distinct in this file); an"
        f" extract of 100,000 all-different numbers would spend {per_number * 100_000:.1f} s on them"
    )


def profile_import(url: str, path: Path) -> None:
    """A cProfile of one import, in this process."""
    upgrade(url)
    engine = make_engine(url)
    catalogue = load_catalogue(bundled_dir())
    try:
        profiler = cProfile.Profile()
        with make_session_factory(engine).begin() as session:
            profiler.runcall(import_sample, session, Actor.system(), catalogue, path)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--keep", type=Path, help="write the extracts and databases here and keep them")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of an import of the first size"
    )
    parser.add_argument("--child-import", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import)
        return 0
    if args.child_floor:
        child_floor(*args.child_floor)
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="survey-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    admin_url = os.environ.get(POSTGRES_ENV, "").strip()
    sqlite: dict[int, dict[str, Measured]] = {}
    postgres: dict[int, dict[str, Measured]] = {}
    for n in args.rows:
        path = folder / f"extract-{n}.csv"
        start = time.perf_counter()
        write_extract(path, n, today())
        size = path.stat().st_size / 1e6
        print(f"\nextract: {n:,} rows, {size:.1f} MB, written in {time.perf_counter() - start:.1f} s")
        database = folder / f"bench-{n}.db"
        for leftover in folder.glob(f"bench-{n}.db*"):
            leftover.unlink()
        if args.profile and n == args.rows[0]:
            profile_import(f"sqlite:///{folder / 'profile.db'}", path)
        sqlite[n] = bench("SQLite", f"sqlite:///{database}", path, n)
        if admin_url:
            url, drop = scratch_postgres(admin_url)
            try:
                postgres[n] = bench("PostgreSQL", url, path, n)
            finally:
                drop()
        if n == args.rows[0]:
            phone_cost(path)
        if not args.keep:
            path.unlink()
            for leftover in folder.glob("*.db*"):
                leftover.unlink()
    print()
    ok = summary("SQLite", args.rows, sqlite)
    if postgres:
        ok &= summary("PostgreSQL", args.rows, postgres)
    else:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is not set)")
    if not args.keep:
        folder.rmdir()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
