"""Write the documentation figures.

docs/procedural_classes.png: a contact sheet of the 40 Anomaly-ShapeNet classes as built
by the procedural shape library (``anomalygen.shapes.procedural``).

Run: ``python docs/make_figures.py`` (from anywhere; writes next to this file).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # run from a checkout without installing

from anomalygen.render import View, contact_sheet  # noqa: E402
from anomalygen.shapes.procedural import REGISTRY, build  # noqa: E402

# looking down a little (30 degrees) shows that vessels are hollow
VIEW = View(elev=30.0, azim=-60.0)


def canonical_classes() -> list[tuple[str, int]]:
    """The 40 (kind, variant) pairs of Anomaly-ShapeNet, in class-name order."""
    return [(kind, v) for kind in REGISTRY for v in sorted(REGISTRY[kind].presets)]


def procedural_classes(path: Path = DOCS / "procedural_classes.png") -> Path:
    """Build the 40 classes and write their contact sheet to ``path``."""
    meshes = {}
    for kind, variant in canonical_classes():
        start = time.perf_counter()
        meshes[f"{kind}{variant}"] = mesh = build(kind, variant)
        print(f"{kind}{variant:<3d} {len(mesh.faces):6d} faces "
              f"{1000 * (time.perf_counter() - start):6.0f} ms")
    return contact_sheet(meshes, path, columns=8, view=VIEW)


if __name__ == "__main__":
    out = procedural_classes()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
