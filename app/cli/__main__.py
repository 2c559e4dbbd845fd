"""`python -m app.cli` runs the survey command."""

from app.cli import main

main()
