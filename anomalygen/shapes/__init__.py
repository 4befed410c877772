"""Where meshes come from: the built-in procedural library, ShapeNet folders, any mesh folder."""
