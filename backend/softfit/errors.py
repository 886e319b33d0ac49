"""User-facing errors. Anything raised as `InputError` is reported by the CLI, the server and the
Blender panel as one clear line; other exceptions are bugs. The add-on ships this file verbatim (as
`core/errors.py`, see scripts/build_extension.py), so it imports nothing."""


class InputError(ValueError):
    """Bad user input: unreadable images, mismatched cameras, empty masks, NaNs, bad options."""
