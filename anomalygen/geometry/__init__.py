"""Geometry helpers shared by the generator's stages (shapes, preparation, operators)."""
