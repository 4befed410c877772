"""Any folder of mesh files as a source of shapes.

Names: a mesh file is named by its path relative to the folder, with '/' separators and
without its suffix (``chairs/office/a.obj`` -> ``chairs/office/a``). When several files would
get the same name (``a.obj`` and ``a.ply``, or ``a.obj`` and ``a.OBJ``) each of them is named
by its relative path with the suffix as written instead (``a.obj``, ``a.ply``); so is a file
whose short name would equal another file's relative path (``x.obj.ply`` beside ``x.obj``).
Every name then maps to exactly one file, and :func:`resolve_mesh` finds it again. Hidden
files and folders (names starting with '.') are skipped.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path, PurePosixPath

import trimesh

from anomalygen.checks import PATH_PROBLEM, is_path, join_key, path_kind, resolve_path
from anomalygen.shapes.load import MESH_SUFFIXES, load_mesh
from anomalygen.shapes.source import Source, register


def mesh_files(root: str | os.PathLike) -> dict[str, Path]:
    """Map each mesh file under ``root`` (recursively) to its name, sorted by name.

    Only files with a suffix in MESH_SUFFIXES (any case) count. Raises FileNotFoundError when
    ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"mesh folder {root} does not exist or is not a folder")
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if not name.startswith(".") and path.suffix.lower() in MESH_SUFFIXES and path.is_file():
                files.append(path.relative_to(root))

    full = {p: PurePosixPath(*p.parts).as_posix() for p in files}
    paths = set(full.values())
    named = {p: full[p][: -len(p.suffix)] for p in files}
    # A short name that is shared, or that is another file's relative path ("x.obj" for
    # x.obj.ply beside x.obj), is replaced by the full relative path. Repeat: a new full name
    # can clash with a short one. Full paths are unique, so this ends.
    while True:
        seen: dict[str, list[Path]] = {}
        for p, name in named.items():
            seen.setdefault(name, []).append(p)
        clashes = [
            p for name, group in seen.items() for p in group
            if named[p] != full[p] and (len(group) > 1 or name in paths)
        ]
        if not clashes:
            break
        for p in clashes:
            named[p] = full[p]
    return {name: root / p for p, name in sorted(named.items(), key=lambda item: item[1])}


def resolve_mesh(root: str | os.PathLike, relpath: str | os.PathLike) -> Path:
    """The mesh file ``relpath`` names under ``root``: a name from mesh_files, or a relative path.

    Raises FileNotFoundError with a readable message (and close names, if any) when no mesh
    file matches, when ``relpath`` leaves ``root``, or when a suffix-less name is ambiguous.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"mesh folder {root} does not exist or is not a folder")
    rel = PurePosixPath(Path(relpath).as_posix())
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise FileNotFoundError(f"{str(relpath)!r} must be a path inside the mesh folder {root}")

    direct = root.joinpath(*rel.parts)
    if direct.is_file() and direct.suffix.lower() in MESH_SUFFIXES:
        return direct
    parent = direct.parent
    if parent.is_dir():
        matches = sorted(
            p for p in parent.iterdir()
            if p.is_file() and p.stem == direct.name and p.suffix.lower() in MESH_SUFFIXES
        )
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(p.name for p in matches)
            raise FileNotFoundError(
                f"mesh {rel.as_posix()!r} in {root} is ambiguous ({listed}); give the suffix"
            )
    close = difflib.get_close_matches(rel.as_posix(), list(mesh_files(root)), n=5, cutoff=0.6)
    hint = f"; close names: {', '.join(close)}" if close else ""
    raise FileNotFoundError(f"no mesh {rel.as_posix()!r} in {root}{hint}")


# --------------------------------------------------------------------------------------------
# The recipe's "folder" source: a class is one mesh file inside source.root

def _check_class(check, key: str, name: str, entry: dict, root: Path) -> dict:
    """The class's mesh file, absolute: its 'mesh' key, else the one file <root>/<name>.<ext>."""
    if "mesh" not in entry:
        found = sorted(p.name for p in root.iterdir()
                       if p.stem == name and p.suffix.lower() in MESH_SUFFIXES and path_kind(p) == "file")
        if len(found) != 1:
            check.fail(key, name, f"a 'mesh' key, or exactly one mesh file {name}.<ext> in {root} "
                                  f"(found {', '.join(found) or 'none'})")
        return {"mesh": _readable_file(check, key, found[0], root)}
    mesh, mesh_key = entry["mesh"], join_key(key, "mesh")
    if not is_path(mesh):
        check.fail(mesh_key, mesh, "a mesh file path relative to source.root")
    path = resolve_path(root, mesh)
    if not path.is_relative_to(root):  # resolved, so neither '..' nor a symlink leads out
        check.fail(mesh_key, mesh, f"a mesh file inside source.root {root} (it resolves to {path})")
    path = _readable_file(check, mesh_key, mesh, root)
    if path.suffix.lower() not in MESH_SUFFIXES:
        check.fail(mesh_key, mesh, f"a mesh file ending in one of {', '.join(MESH_SUFFIXES)}")
    return {"mesh": path}


def _readable_file(check, key: str, relative: str | os.PathLike, root: Path) -> Path:
    path = resolve_path(root, relative)
    found = path_kind(path)
    if found != "file":
        check.fail(key, relative, f"an existing mesh file ({path} {PATH_PROBLEM[found]})")
    if not os.access(path, os.R_OK):
        check.fail(key, relative, f"a readable mesh file ({path} is not readable)")
    return path


def _class_mesh(root: Path, cls) -> trimesh.Trimesh:
    return load_mesh(root / cls.mesh)


SOURCE = register(Source("folder", ("mesh",), _check_class, _class_mesh))
