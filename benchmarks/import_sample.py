"""Sample import speed: a synthetic 100,000-row extract into a fresh database, against the 5-second target.

    python benchmarks/import_sample.py [--rows 100000] [--keep DIR] [--profile]

Prints the time to check and import the file (one transaction, committed), rows per second, the time to
import the same file again (every case already present), and the uncached cost of checking one telephone
number. With SURVEY_BENCH_POSTGRES_URL set (e.g. postgresql://postgres@127.0.0.1:5432/postgres) it does
the same in a scratch PostgreSQL database created beside that one and dropped afterwards.

All data is synthetic: made-up names, and telephone numbers only from Ofcom's drama ranges that
`phonenumbers` accepts (each range is checked before use).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, select  # noqa: E402

from app.clock import today  # noqa: E402
from app.domain.permissions import Actor  # noqa: E402
from app.domain.phones import clear_cache, normalise_uk_phone  # noqa: E402
from app.services import sample as sample_service  # noqa: E402
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue  # noqa: E402
from app.services.sample import COLUMNS, ImportSummary, import_sample  # noqa: E402
from app.store.db import make_engine, make_session_factory  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Case  # noqa: E402
from benchmarks.scratch import scratch_postgres  # noqa: E402

TARGET_SECONDS = 5.0
POSTGRES_ENV = "SURVEY_BENCH_POSTGRES_URL"

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


def timed(action: Callable[[], ImportSummary]) -> tuple[float, float, ImportSummary]:
    """Wall-clock and CPU seconds of this process (CPU time is steadier on a busy machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - start, time.process_time() - cpu, result


def bench(
    label: str, url: str, path: Path, rows: int, catalogue: Catalogue, profile: bool, cache_mib: int = 0
) -> bool:
    upgrade(url)
    engine = make_engine(url)
    if cache_mib:  # what a larger SQLite page cache would give (the app's default is SQLite's 2 MiB)

        @event.listens_for(engine, "connect")
        def _cache(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")

    sessions = make_session_factory(engine)

    def run() -> ImportSummary:
        with sessions.begin() as session:
            return import_sample(session, Actor.system(), catalogue, path)

    try:
        clear_cache()  # every run starts with nothing cached, as a fresh `survey sample import` does
        sample_service._parse_date.cache_clear()
        if profile:
            profiler = cProfile.Profile()
            seconds, cpu, first = timed(lambda: profiler.runcall(run))
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            seconds, cpu, first = timed(run)
        again_seconds, again_cpu, again = timed(run)
        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Case))
    finally:
        engine.dispose()
    ok = seconds < TARGET_SECONDS
    print(
        f"{label}: {rows:,} rows imported in {seconds:.2f} s ({rows / seconds:,.0f} rows/s);"
        f" CPU time in this process {cpu:.2f} s"
    )
    print(
        f"  target {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'} ({seconds / TARGET_SECONDS:.0%} of it)"
    )
    print(
        f"  imported {first.imported:,}, excluded {sum(first.excluded.values()):,}, not released"
        f" {first.not_released:,}, shared-phone warnings {first.shared_phone_warnings:,};"
        f" {stored:,} cases stored"
    )
    print(
        f"  re-import (all {again.already_present:,} already present): {again_seconds:.2f} s"
        f" ({rows / again_seconds:,.0f} rows/s, CPU {again_cpu:.2f} s); imported {again.imported}"
    )
    return ok and stored == rows and again.imported == 0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the extract and database here and keep them")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first SQLite import")
    parser.add_argument(
        "--sqlite-cache-mib", type=int, default=0, help="also import with this SQLite page cache (MiB)"
    )
    args = parser.parse_args()
    # The import logs its stage timings (no personal data) at INFO: show them under each figure.
    stages = logging.StreamHandler(sys.stdout)
    stages.setFormatter(logging.Formatter("  stages: %(message)s"))
    logging.getLogger("app.services.sample").addHandler(stages)
    logging.getLogger("app.services.sample").setLevel(logging.INFO)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="survey-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "extract.csv"
    start = time.perf_counter()
    write_extract(path, args.rows, today())
    size = path.stat().st_size / 1e6
    print(f"extract: {args.rows:,} rows, {size:.1f} MB, written in {time.perf_counter() - start:.1f} s")
    catalogue = load_catalogue(bundled_dir())

    database = folder / "bench.db"
    database.unlink(missing_ok=True)
    ok = bench("SQLite", f"sqlite:///{database}", path, args.rows, catalogue, args.profile)
    if args.sqlite_cache_mib:
        for leftover in folder.glob("bench.db*"):
            leftover.unlink()
        label = f"SQLite, {args.sqlite_cache_mib} MiB page cache"
        bench(label, f"sqlite:///{database}", path, args.rows, catalogue, False, args.sqlite_cache_mib)
    phone_cost(path)

    admin_url = os.environ.get(POSTGRES_ENV, "").strip()
    if admin_url:
        url, drop = scratch_postgres(admin_url)
        try:
            bench("PostgreSQL", url, path, args.rows, catalogue, profile=False)
        finally:
            drop()
    else:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is not set)")
    if not args.keep:
        path.unlink()
        for leftover in folder.glob("bench.db*"):
            leftover.unlink()
        folder.rmdir()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
