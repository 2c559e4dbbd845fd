"""The dictionary that travels with an export: the codebook (a table, or text beside the file) and the
SPSS syntax beside a .sav (multiple-response sets, levels, the published figures)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from app.clock import today
from app.services.export.columns import MISSING_CODE_NOTES, Kind, Level, Variable
from app.services.export.plan import ExportPlan


def codebook_rows(variables: Sequence[Variable]) -> Iterator[list[str]]:
    """The codebook as a table: the header, then one row per variable."""
    yield [
        "variable",
        "label",
        "type",
        "values",
        "missing",
        "level",
        "format",
        "question",
        "asked if",
        "definition",
    ]
    for v in variables:
        yield [
            v.name,
            v.label,
            v.kind.value,
            describe_values(v),
            ", ".join(str(code) for code in v.missing),
            v.level.value,
            spss_format(v),
            v.wording or "",
            v.routing or ("always" if v.wording and v.definition is None else ""),
            v.definition or "",
        ]


def write_codebook_text(path: Path, plan: ExportPlan, data_file: str) -> None:
    """The codebook as plain text, beside a CSV, .sav or Parquet export."""
    partial = " (partial interviews included)" if plan.include_partial else ""
    lines = [
        f"Codebook for {data_file}: {plan.current.title} ({plan.survey}), interviews completed from"
        f" {plan.start:%d %B %Y} to {plan.end:%d %B %Y}{partial}.",
        f"Written {today():%d %B %Y}. One row per interview; pseudonymised (no names, numbers or crime"
        " references).",
        "",
        "Codes for answers that are not a value (declared missing in the .sav):",
        *(f"  {code:>4}  {text}" for code, text in MISSING_CODE_NOTES),
        "  Text and date columns hold these codes as text. A number question whose range reaches 98 leaves"
        " them blank.",
        "",
        "Measures (the published figures; every survey of the period is in the base):",
    ]
    for variable in plan.variables:
        if variable.definition:
            lines.append(f"  {variable.name}: {variable.definition}")
    lines += ["", "Variables:"]
    for variable in plan.variables:
        lines.append("")
        lines.append(f"{variable.name}  {variable.label}")
        lines.append(
            f"  type: {variable.kind.value}; level: {variable.level.value};"
            f" SPSS format: {spss_format(variable)}"
        )
        if variable.wording:
            lines.append(f"  question: {' '.join(variable.wording.split())}")
            lines.append(f"  asked if: {variable.routing or 'always'}")
        if variable.value_labels:
            lines.append(f"  values: {describe_values(variable)}")
        if variable.missing:
            lines.append(f"  missing: {', '.join(str(code) for code in variable.missing)}")
        if variable.definition:
            lines.append(f"  definition: {variable.definition}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_sps(path: Path, plan: ExportPlan, data_file: str) -> None:
    """SPSS syntax to run on the opened .sav: multiple-response sets, and the published figures."""
    groups: dict[str, list[Variable]] = {}
    for variable in plan.variables:
        if variable.option_code is not None and variable.question_id:
            groups.setdefault(variable.question_id, []).append(variable)
    lines = [
        f"* SPSS syntax for {data_file} ({plan.title}). Open the .sav first, then run this file.",
        "",
    ]
    if groups:
        lines.append("* Multiple-response sets: one per multiple-choice question (1 = chosen).")
        lines.append("MRSETS")
        for question_id, columns in groups.items():
            label = columns[0].label.split(": ")[0].replace("'", "''")
            names = " ".join(c.name for c in columns)
            lines.append(f"  /MDGROUP NAME=${question_id} LABEL='{label}' CATEGORYLABELS=VARLABELS")
            lines.append(f"   VARIABLES={names} VALUE=1")
        lines.append(".")
        lines.append("")
    ordinal = [v.name for v in plan.variables if v.level is Level.ORDINAL]
    if ordinal:
        lines.append("VARIABLE LEVEL " + " ".join(ordinal) + " (ORDINAL).")
        lines.append("")
    derived = [v.name for v in plan.variables if v.definition]
    if derived:
        lines += [
            "* The published figures: Valid Percent of 1 in each variable below, by period (for example",
            "* a quarter: SELECT IF or SPLIT FILE on completed_at), is the report's percentage.",
            "FREQUENCIES VARIABLES=" + " ".join(derived) + ".",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def spss_format(variable: Variable) -> str:
    if variable.spss_format:
        return variable.spss_format
    return {Kind.STRING: "A", Kind.DATETIME: "DATETIME20", Kind.NUMBER: "F8.2"}.get(variable.kind, "F8.0")


def describe_values(variable: Variable) -> str:
    return "; ".join(f"{code} = {text}" for code, text in variable.value_labels)
