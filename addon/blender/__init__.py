"""The add-on's Blender-facing part: properties, preferences, operators, panels, timers and handlers.

Nothing is imported here: the root `__init__.py` registers the modules' classes."""

ADDON_PACKAGE = str(__package__).rpartition(".")[0]  # the extension's own package (preferences, user folder)
