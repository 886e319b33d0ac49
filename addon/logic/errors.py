"""The add-on's user-facing error. Operators turn it into one `{'ERROR'}` report; anything else is a bug.

It is the backend's `InputError` itself (shipped as `core/errors.py`), so errors raised by the shared
camera and sphere code are caught like the add-on's own.

The backend's messages name its command line ("try --silhouette grabcut"); in Blender the same choices are
panel settings, so what reaches the panel goes through `in_panel_terms`."""

from ..core.errors import InputError

__all__ = ["InputError", "PANEL_TERMS", "in_panel_terms"]

# (the command line's words as the backend writes them, the panel's); longer phrases first
PANEL_TERMS = (
    ("--silhouette mask with a masks/ folder", "Silhouette: Masks, with a masks/ folder"),
    ("--silhouette backdrop:backdrop=EMPTY.png", "Silhouette: Backdrop, with an Empty Scene photo"),
    ("--silhouette deeplab:weights=torchvision", "Silhouette: DeepLab, with torchvision's weights"),
    ("--silhouette grabcut", "Silhouette: GrabCut"),
    ("--init hull or bbox", "Initial Mesh: Visual Hull"),
    ("pass --allow-outside-paths", "tick Input: Allow Outside Paths"),
    ("(--no-texture)", "(Advanced: Texture)"),
    ("(--polys N)", "(Advanced: Detail Fixed)"),
)


def in_panel_terms(message: str) -> str:
    """`message` with the command line's options it names replaced by the panel's settings."""
    for cli, panel in PANEL_TERMS:
        message = message.replace(cli, panel)
    return message
