"""The add-on's user-facing error. Operators turn it into one `{'ERROR'}` report; anything else is a bug.

It is the backend's `InputError` itself (shipped as `core/errors.py`), so errors raised by the shared
camera and sphere code are caught like the add-on's own."""

from ..core.errors import InputError

__all__ = ["InputError"]
