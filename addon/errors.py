"""The add-on's user-facing error. Operators turn it into one `{'ERROR'}` report; anything else is a bug.

It mirrors `softfit.errors.InputError` (the add-on cannot import the backend package)."""


class InputError(ValueError):
    """Bad user input: missing folders, unreadable images, mismatched cameras, empty masks, bad options."""
