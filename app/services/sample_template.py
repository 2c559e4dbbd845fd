"""The layout of a crime-records extract, for the person preparing one: each column's format and an example.

`survey sample template` prints it. The formats describe what `app.services.sample` accepts; a test
imports the example row, so the two cannot drift apart. The example is synthetic (an Ofcom drama number).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.services.sample import COLUMNS, FLAG_COLUMNS, MAX_LENGTHS, OPTIONAL_COLUMNS, REQUIRED_VALUES

_FLAG_FORMAT = "Y or N (also yes/no, true/false, 1/0); blank means N. The column itself is required."


@dataclass(frozen=True)
class ColumnFormat:
    column: str
    required: str  # "yes", "may be blank", "column may be left out"
    format: str
    example: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _formats(survey: str) -> dict[str, tuple[str, str]]:
    """(format, example) per column."""
    return {
        "crime_ref": (
            f"The crime reference as crime records write it (at most {MAX_LENGTHS['crime_ref']} characters).",
            "DA/0001/26",
        ),
        "survey": ("The survey id: one of the installed questionnaires (survey questionnaire list).", survey),
        "victim_name": (
            f"The victim's full name, first name first (at most {MAX_LENGTHS['victim_name']} characters).",
            "Alex Example",
        ),
        "phone": (
            "A UK telephone number, spaces, brackets and dashes allowed; 0..., +44... or 0044...",
            "020 7946 0123",
        ),
        "alt_phone": ("A second UK number, same format as phone.", "0113 496 0456"),
        "date_of_birth": ("A date, YYYY-MM-DD or DD/MM/YYYY. Needed for the under-16 rule.", "14/07/1984"),
        "report_date": ("A date, YYYY-MM-DD or DD/MM/YYYY: when the crime was reported.", "2026-01-15"),
        "division": (f"The Division (at most {MAX_LENGTHS['division']} characters).", "North"),
        "district": (
            f"The district within the Division (at most {MAX_LENGTHS['district']} characters).",
            "Ashby",
        ),
        "risk_level": (
            "The perceived risk: standard, medium or high (any case); blank if not known.",
            "standard",
        ),
        **{flag: (_FLAG_FORMAT, "N") for flag in FLAG_COLUMNS},
    }


def template_columns(survey: str = "domestic_abuse") -> list[ColumnFormat]:
    """Every column of an extract in COLUMNS order, with its format and an example value."""
    formats = _formats(survey)
    rows = []
    for column in COLUMNS:
        if column in OPTIONAL_COLUMNS:
            required = "optional column"
        elif column in REQUIRED_VALUES:
            required = "yes"
        else:
            required = "may be blank"
        text, example = formats[column]
        rows.append(ColumnFormat(column, required, text, example))
    return rows


def template_csv(survey: str = "domestic_abuse") -> str:
    """The header row and one example row: a valid extract to copy."""
    columns = template_columns(survey)
    return ",".join(c.column for c in columns) + "\n" + ",".join(c.example for c in columns) + "\n"
