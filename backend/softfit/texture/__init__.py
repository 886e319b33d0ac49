"""Colour from the photos: UV unwrap (xatlas), texture baking with per-texel visibility, and the
textured outputs (OBJ + MTL + PNG, GLB). Runs after the fit, on its mesh and the same views."""

from softfit.texture.bake import Texture, bake_texture

__all__ = ["Texture", "bake_texture"]
