"""Pure domain logic: questionnaires, the interview engine, eligibility, dispositions, statistics.

Nothing here imports Textual or SQLAlchemy; the layering is checked by tests/test_layering.py.
"""
