"""The one exception type a user sees as a one-line message instead of a traceback."""


class DlcError(Exception):
    """A problem with the user's input or environment, reported as ``dlc: error: <message>``.

    The message names the file (and line, where there is one) and the problem, on one line.
    """
