"""Triangle meshes: the `Mesh` type, generators (UV sphere) and file I/O (OBJ/PLY in Blender's frame)."""

from softfit.mesh.types import Mesh

__all__ = ["Mesh"]
