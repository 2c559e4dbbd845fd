"""A large synthetic extract, written fast and always the same, for the bounded-memory import test.

Made-up names; telephone numbers only from Ofcom drama ranges that `phonenumbers` accepts (about
14,000 numbers, so numbers repeat and many shared-phone warnings are produced, as in the benchmark).
Every 1,000th row repeats the one before it exactly (one case), and the mix of report dates and birth
dates gives cases that are open, waiting, over their window, under 16 and excluded by each flag.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.domain.permissions import Actor
from app.domain.questionnaire import EligibilityRule, ExclusionReason, Fieldwork, load_questionnaire
from app.services.catalogue import Catalogue
from app.services.sample import COLUMNS, import_sample
from app.store.db import make_engine, make_session_factory
from app.store.models import Case, ScreeningDecision

RANGES = (
    "020 7946 0",
    "0113 496 0",
    "0114 496 0",
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
)
SURVEYS = ("domestic_abuse",) * 4 + ("burglary",) * 3 + ("hate_crime",) * 2 + ("rape",)
FIRST = [
    "Alma",
    "Brin",
    "Cass",
    "Dell",
    "Eda",
    "Fenn",
    "Gil",
    "Hale",
    "Isla",
    "Jory",
    "Kit",
    "Lorn",
    "Mab",
    "Ned",
    "Opal",
    "Pim",
    "Quin",
]
LAST = [
    "Quenby",
    "Oswick",
    "Pellow",
    "Varrow",
    "Morrin",
    "Carrow",
    "Sorrell",
    "Dunmere",
    "Larchmont",
    "Tillery",
    "Ormsby",
]
PLACES = (("North", "Ashby"), ("North", "Carrow"), ("South", "Bly"), ("East", "Gorsey"), ("East", "Hamble"))
RISKS = ("standard", "standard", "medium", "high", "")


def phone(n: int) -> str:
    number = f"{RANGES[n % len(RANGES)]}{(n * 7919) % 1000:03d}"
    style = n % 5
    if style < 3:
        return number
    if style == 3:
        return number.replace(" ", "")
    return "+44 " + number[1:]


def extract_rows(rows: int, on: date, *, first_ref: int = 0) -> list[str]:
    """`rows` lines (after the header) of a valid extract for a day `on`."""
    lines = []
    previous = ""
    for n in range(rows):
        if n % 1000 == 999 and previous:
            lines.append(previous)
            continue
        reported = on - timedelta(days=(n * 11) % 201)
        born = reported - timedelta(days=12 * 365 + (n * 37) % (70 * 365))
        division, district = PLACES[n % len(PLACES)]
        ref = first_ref + n
        flags = ["Y" if n % 53 == k else "N" for k in (1, 2, 3, 4)]
        values = (
            f"{ref // 100_000 + 24:02d}/{ref % 100_000:06d}/25",
            SURVEYS[n % len(SURVEYS)],
            f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]}",
            phone(n),
            phone(n * 3 + 1) if n % 5 == 2 else "",
            "" if n % 20 == 7 else born.strftime("%d/%m/%Y" if n % 2 else "%Y-%m-%d"),
            reported.isoformat(),
            division,
            district,
            RISKS[n % len(RISKS)],
            *flags,
        )
        previous = ",".join(values)
        lines.append(previous)
    return lines


def write_extract(path: Path, rows: int, on: date, *, first_ref: int = 0, encoding: str = "utf-8") -> Path:
    lines = [",".join(COLUMNS), *extract_rows(rows, on, first_ref=first_ref)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding=encoding, newline="")
    return path


def fixed_catalogue() -> Catalogue:
    """The four surveys with fixed windows and rules, so edits to the bundled ones change nothing."""
    base = load_questionnaire(Path(__file__).parents[1] / "domain" / "data" / "example.yaml")
    every_rule = [
        EligibilityRule(reason=reason, automatic=True)
        for reason in (
            ExclusionReason.OPTED_OUT,
            ExclusionReason.UNDER_16,
            ExclusionReason.VULNERABLE,
            ExclusionReason.NFA_REQUESTED,
            ExclusionReason.NOT_COOPERATING,
        )
    ]
    windows = {"domestic_abuse": (28, 112), "burglary": (42, 84), "hate_crime": (21, 90), "rape": (56, 150)}
    return Catalogue(
        questionnaires={
            survey: base.model_copy(
                update={
                    "id": survey,
                    "fieldwork": Fieldwork(from_days_after_report=start, to_days_after_report=end),
                    "eligibility": every_rule[: 2 + index],
                }
            )
            for index, (survey, (start, end)) in enumerate(windows.items())
        }
    )


def stored_digest(sessions: sessionmaker[Session]) -> str:
    """A digest of every case and screening decision an import wrote (not the batch's random name)."""
    cases = Case.__table__.c
    decisions = ScreeningDecision.__table__.c
    digest = hashlib.sha256()
    with sessions() as session:
        for record in session.execute(
            select(
                cases.id,
                *(cases[name] for name in COLUMNS[1:] if name != "alt_phone"),
                cases.crime_ref,
                cases.alt_phone,
                cases.status,
                cases.final_disposition,
                cases.closed_reason,
                cases.closed_at,
                cases.next_call_at,
                cases.attempt_count,
                cases.imported_at,
            ).order_by(cases.id)
        ):
            digest.update(repr(tuple(record)).encode())
        for record in session.execute(
            select(
                decisions.case_id,
                decisions.reason,
                decisions.excluded,
                decisions.decided_by,
                decisions.staff_id,
                decisions.decided_at,
                decisions.note,
            ).order_by(decisions.case_id, decisions.reason)
        ):
            digest.update(repr(tuple(record)).encode())
    return digest.hexdigest()


TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def peak_resident_kb() -> int:
    """This program's peak resident memory in KiB, as the kernel accounts it (VmHWM).

    Not getrusage's ru_maxrss seen by the parent: Linux carries the high-water mark of the image a
    child was forked from across exec, so a child of a large test process would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(url: str, extract: str, warnings: str, peak_to: str) -> None:
    """Import one extract (the child process of the bounded-memory test) and print its JSON summary.

    Its peak memory is written to `peak_to` as a whole number of KiB.
    """
    clock.freeze(NOW)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            summary = import_sample(
                session, Actor.system(), fixed_catalogue(), extract, today=TODAY, warnings_to=warnings
            )
    finally:
        engine.dispose()
    print(json.dumps(summary.to_dict()))
    Path(peak_to).write_text(str(peak_resident_kb()))


if __name__ == "__main__":
    main(*sys.argv[1:])
