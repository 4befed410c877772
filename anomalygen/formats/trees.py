"""Where each part of an exported folder lies: point clouds, meshes, template meshes and clouds.

A :class:`Tree` names folders relative to the export's DEST. Point-cloud class folders, the
list files and ``anomalygen.json`` sit at the pcd root; meshes never sit beside the clouds,
because loaders such as R3D-AD read every file in ``train/`` as a point cloud.

* Anomaly-ShapeNet v1: class folders at DEST, meshes (when kept) under ``obj/<cls>/``.
* Anomaly-ShapeNet v2: the second release's ``Anomaly-ShapeNet-v2/dataset/{pcd,obj}`` trees,
  ``obj/<cls>/<stem>.obj`` holding templates and test samples (PO3AD trains on them), plus
  ``templates/<cls>/<cls>.obj``, one template mesh per class (PASDF's template folder).
* Real3D-AD: like v1, optionally with ``Real3D-AD-PLY/<cls>/<stem>.ply`` template clouds
  (PO3AD's Real3D-AD training path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

V2_ROOT = "Anomaly-ShapeNet-v2"


@dataclass(frozen=True)
class Tree:
    pcd: str = "."                       # class folders, list files and sidecar
    meshes: str = "obj"                  # <cls>/<stem>.obj for every sample with a mesh
    templates: str | None = None         # <cls>/<cls>.obj: the first template's mesh
    template_plys: str | None = None     # <cls>/<stem>.ply: the template clouds
    needs_meshes: bool = False           # meshes the shards lack are regenerated (else an error)


LAYOUTS = {
    "v1": Tree(),
    "v2": Tree(pcd=f"{V2_ROOT}/dataset/pcd", meshes=f"{V2_ROOT}/dataset/obj", templates=f"{V2_ROOT}/templates",
               needs_meshes=True),
}
REAL3D_AD = Tree()
REAL3D_AD_PLY = Tree(template_plys="Real3D-AD-PLY")


def mesh_file(pcd: Path) -> Path | None:
    """The mesh of the sample whose cloud is ``<cls>/<split>/<stem>.pcd``, if any: in the v1
    mesh tree (beside the class folders), the v2 one (beside the pcd root), or beside the pcd
    (where exports before the mesh trees put it)."""
    class_dir = pcd.parent.parent
    name = Path(class_dir.name) / f"{pcd.stem}.obj"
    for candidate in (class_dir.parent / "obj" / name, class_dir.parent.parent / "obj" / name, pcd.with_suffix(".obj")):
        if candidate.is_file():
            return candidate
    return None
