"""The project's base exception for expected failures."""


class SurveyError(Exception):
    """Expected failure shown to the user as one line"""
