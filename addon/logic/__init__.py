"""The add-on's Blender-free part: importable and testable without Blender; never imports bpy."""
