"""The one exception type a user sees as a one-line message instead of a traceback."""


class DlcError(Exception):
    """A problem with the user's input or environment, reported as ``dlc: error: <message>``.

    The message names the file (and line, where there is one) and the problem, on one line.
    """


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name when it has none), for a DlcError."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
