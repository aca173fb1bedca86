"""The one base for errors of bad input. Every domain package raises a subclass naming what is wrong
and where; interfaces (command line, web) turn it into a clear message, never a traceback."""


class InputError(ValueError):
    """Bad input from a user or a file: the message says what is wrong and where."""
