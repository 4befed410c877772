"""ShapeNetCore folders (v1 and v2 layouts) as a source of shapes.

Layouts, under a root folder:

* v1: ``ROOT/<synset>/<model>/model.obj``
* v2: ``ROOT/<synset>/<model>/models/model_normalized.obj``

``<synset>`` is the 8-digit WordNet synset id of a category (see SYNSETS), ``<model>`` the
model's hash id. Categories can be named by id, by the taxonomy names below or by ALIASES
(case, spaces and hyphens do not matter: "Trash Bin" == "trash_bin").
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import trimesh

from anomalygen.checks import is_name, join_key
from anomalygen.shapes.load import load_mesh
from anomalygen.shapes.source import Source, register

SYNSETS: dict[str, str] = {
    "airplane": "02691156",
    "ashcan": "02747177",
    "bag": "02773838",
    "basket": "02801938",
    "bathtub": "02808440",
    "bed": "02818832",
    "bench": "02828884",
    "birdhouse": "02843684",
    "bookshelf": "02871439",
    "bottle": "02876657",
    "bowl": "02880940",
    "bus": "02924116",
    "cabinet": "02933112",
    "camera": "02942699",
    "can": "02946921",
    "cap": "02954340",
    "car": "02958343",
    "cellphone": "02992529",
    "chair": "03001627",
    "clock": "03046257",
    "keyboard": "03085013",
    "dishwasher": "03207941",
    "display": "03211117",
    "earphone": "03261776",
    "faucet": "03325088",
    "file": "03337140",
    "guitar": "03467517",
    "helmet": "03513137",
    "jar": "03593526",
    "knife": "03624134",
    "lamp": "03636649",
    "laptop": "03642806",
    "loudspeaker": "03691459",
    "mailbox": "03710193",
    "microphone": "03759954",
    "microwave": "03761084",
    "motorcycle": "03790512",
    "mug": "03797390",
    "piano": "03928116",
    "pillow": "03938244",
    "pistol": "03948459",
    "pot": "03991062",
    "printer": "04004475",
    "remote_control": "04074963",
    "rifle": "04090263",
    "rocket": "04099429",
    "skateboard": "04225987",
    "sofa": "04256520",
    "stove": "04330267",
    "table": "04379243",
    "telephone": "04401088",
    "tower": "04460130",
    "train": "04468005",
    "vessel": "04530566",
    "washer": "04554684",
}
"""The 55 ShapeNetCore categories: taxonomy name -> synset id."""

ALIASES: dict[str, str] = {
    # other names the ShapeNet taxonomy and common tools use for the same synsets
    "trash_bin": "ashcan", "trash_can": "ashcan", "garbage_can": "ashcan", "wastebin": "ashcan",
    "aeroplane": "airplane", "plane": "airplane",
    "cellular_telephone": "cellphone", "mobile_phone": "cellphone",
    "monitor": "display", "file_cabinet": "file", "speaker": "loudspeaker",
    "microwaves": "microwave", "microwave_oven": "microwave", "motorbike": "motorcycle",
    "flowerpot": "pot", "remote": "remote_control", "tin_can": "can",
    "watercraft": "vessel", "headphone": "earphone",
    # Anomaly-ShapeNet class names whose objects come from these ShapeNetCore categories
    "cup": "mug", "tap": "faucet", "shelf": "bookshelf", "headset": "earphone", "vase": "jar",
}

_IDS = {synset: name for name, synset in SYNSETS.items()}

LAYOUTS: dict[str, tuple[str, ...]] = {"v2": ("models", "model_normalized.obj"), "v1": ("model.obj",)}
"""The one statement of the layout rule: a model folder's mesh file per ShapeNetCore release,
in the order they are looked for (v2 first)."""


def synset_id(name_or_id: str) -> str:
    """8-digit synset id of a category given by id, taxonomy name or alias.

    Raises ValueError naming the closest known names or ids when nothing matches.
    """
    text = str(name_or_id).strip()
    if re.fullmatch(r"\d{8}", text):
        if text in _IDS:
            return text
        close = difflib.get_close_matches(text, list(_IDS), n=3, cutoff=0.75)
        hint = "; close ids: " + ", ".join(f"{c} ({_IDS[c]})" for c in close) if close else ""
        raise ValueError(f"{text} is not a ShapeNetCore synset id{hint}")
    key = re.sub(r"[\s\-]+", "_", text.lower())
    name = ALIASES.get(key, key)
    if name in SYNSETS:
        return SYNSETS[name]
    close = difflib.get_close_matches(key, [*SYNSETS, *ALIASES], n=5, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown ShapeNetCore category {name_or_id!r}{hint} "
        "(all names: anomalygen.shapes.shapenet.SYNSETS and ALIASES)"
    )


def model_path(root: str | os.PathLike, synset: str, model: str) -> Path:
    """Mesh file of one model: the v2 layout if present, else v1.

    Raises FileNotFoundError naming both paths tried; ValueError for a bad synset or model id.
    """
    base = _synset_folder(root, synset)
    model = str(model).strip()
    if not model or "/" in model or "\\" in model or model in {".", ".."}:
        raise ValueError(f"{model!r} is not a ShapeNet model id")
    found = model_file(base / model)
    if found is not None:
        return found
    tried = " and ".join(f"{base.joinpath(model, *parts)} ({layout})" for layout, parts in LAYOUTS.items())
    raise FileNotFoundError(f"ShapeNet model {model} of synset {base.name} not found: tried {tried}")


def model_file(folder: Path) -> Path | None:
    """The mesh file of the model folder ``folder`` by :data:`LAYOUTS` (v2 before v1), or None."""
    for parts in LAYOUTS.values():
        path = folder.joinpath(*parts)
        try:
            if path.is_file():
                return path
        except (OSError, ValueError):      # a name the OS cannot look at has no mesh file
            pass
    return None


def list_models(root: str | os.PathLike, synset: str) -> list[str]:
    """Sorted ids of the models of a synset that have a v2 or v1 mesh file.

    Raises FileNotFoundError when the synset's folder is missing.
    """
    base = _synset_folder(root, synset)
    if not base.is_dir():
        raise FileNotFoundError(f"ShapeNet synset folder {base} does not exist")
    return sorted(
        entry.name
        for entry in base.iterdir()
        if entry.is_dir() and model_file(entry) is not None
    )


def _synset_folder(root: str | os.PathLike, synset: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ShapeNet root {root} does not exist or is not a folder")
    return root / synset_id(synset)


# --------------------------------------------------------------------------------------------
# The recipe's "shapenet" source: a class names a synset and a model under source.root

def _check_class(check, key: str, name: str, entry: dict, root: Path) -> dict:
    """The class's synset as its 8-digit id, and its model, whose folder must hold a mesh file."""
    synset_key, model_key = join_key(key, "synset"), join_key(key, "model")
    synset = check.required(key, entry, "synset", "a ShapeNet synset name or 8-digit id")
    if not isinstance(synset, str):
        check.fail(synset_key, synset, "a ShapeNet synset name or 8-digit id, as a string "
                                       "(quote ids: YAML reads 03001627 as a number)")
    try:
        synset = synset_id(synset)
    except ValueError as err:
        check.fail(synset_key, synset, f"a ShapeNet synset name or 8-digit id ({err})")
    model = check.required(key, entry, "model", "a ShapeNet model id")
    if not is_name(model):
        check.fail(model_key, model, "a ShapeNet model id, as a string (quote it if YAML reads it as a number)")
    folder = root / synset / model
    if model_file(folder) is None:
        layouts = " or ".join(f"{'/'.join(parts)} ({'ShapeNetCore ' if i == 0 else ''}{layout})"
                              for i, (layout, parts) in enumerate(LAYOUTS.items()))
        check.fail(model_key, model, f"a model folder {folder} holding {layouts}")
    return {"synset": synset, "model": model}


def _class_mesh(root: Path, cls) -> trimesh.Trimesh:
    return load_mesh(model_path(root, cls.synset, cls.model))


SOURCE = register(Source("shapenet", ("synset", "model"), _check_class, _class_mesh))
