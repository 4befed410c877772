"""The generator's commands: synth, verify, inspect, export, import, show, gallery."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import click
from click.core import ParameterSource

from anomalygen.cli.app import _fail, _names, _stoppable, chosen_execution, execution_options, main
from anomalygen.formats import ENCODINGS, EXPORT_FORMATS, GT_DELIMITERS, IMPORT_FORMATS, LAYOUTS


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: the recipe's output.dir).")
@click.option("--classes", help="Comma-separated class names to generate (default: all of the recipe's).")
@execution_options()
@click.option("--quiet", is_flag=True, help="No progress bar and no summary; errors only.")
@click.option("--allow-failures", is_flag=True,
              help="Exit 0 even if samples failed (for exploratory runs over many meshes); they are still listed.")
def synth(recipe: Path, out_dir: Path | None, classes: str | None, workers: int, scheduler: str | None,
          dask_local: int | None, cache_dir: Path | None, quiet: bool, allow_failures: bool) -> None:
    """Generate the benchmark described by RECIPE (a YAML file) as HDF5 shards + manifest.json.

    Re-running the same command resumes an interrupted run: intact finished shards are kept;
    damaged or missing shards and failed samples are made again. Exits 1 if any sample failed
    (the rest is written), 2 on a bad recipe or while another run writes into the folder.
    """
    from tqdm import tqdm

    from anomalygen.pipeline import failures_by_reason, synthesize
    from anomalygen.recipe import load_recipe

    execution = chosen_execution(workers, scheduler, dask_local)
    parsed = load_recipe(recipe)
    selected = _names(classes)
    try:
        total = parsed.sample_count(selected)
    except ValueError as error:
        _fail(f"--classes: {error}")
    out_dir = out_dir or parsed.output.dir
    timings: dict[str, float] = defaultdict(float)
    bar = tqdm(total=total, unit="sample", disable=quiet, desc=parsed.name, dynamic_ncols=True)

    def progress(report, shard) -> None:
        bar.update(len(shard.samples))
        for stage, seconds in report.timings.items():
            timings[stage] += seconds

    started = time.perf_counter()
    try:
        with _stoppable():
            manifest = synthesize(parsed, out_dir, classes=selected, execution=execution, cache_dir=cache_dir,
                                  on_shard_done=progress, on_skip=lambda shard: bar.update(len(shard.samples)))
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    if not quiet:
        n_done = len(manifest["samples"])
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(timings.items())) or "nothing left to do"
        click.echo(f"{out_dir}: {n_done} samples in {len(manifest['shards'])} shards, "
                   f"{len(manifest['failed'])} failed; {elapsed:.1f}s wall (worker time: {stages})")
    failed = failures_by_reason(manifest, selected)
    for reason, ids in failed.items():
        more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
        click.echo(f"failed {', '.join(ids[:5])}{more}: {reason}", err=True)
    n_failed = sum(map(len, failed.values()))
    if n_failed and not allow_failures:
        _fail(f"{n_failed} of {total} planned samples failed (listed above); the others are written. "
              f"Run again to retry them, or pass --allow-failures to accept them", code=1)


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A manifest.json to compare with (e.g. recipes/manifests/ci_small.json).")
@click.option("--sample", "samples", multiple=True, help="Only this sample id (repeatable); default: all.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Also check the shard files in this folder against the manifest's sha256s "
                   "(missing, damaged or unlisted files).")
@execution_options()
def verify(recipe: Path, manifest_path: Path, samples: tuple[str, ...], data_dir: Path | None, workers: int,
           scheduler: str | None, dask_local: int | None, cache_dir: Path | None) -> None:
    """Regenerate RECIPE's samples in memory and compare their checksums with a manifest.

    Prints every sample that differs (and with --data every shard file that does) and exits 1
    if any does; writes nothing.
    """
    from anomalygen.pipeline import verify_against
    from anomalygen.recipe import load_recipe

    execution = chosen_execution(workers, scheduler, dask_local)
    parsed = load_recipe(recipe)
    with _stoppable():
        result = verify_against(parsed, manifest_path, samples, data_dir, execution=execution, cache_dir=cache_dir)
    if result.other_recipe:
        click.echo(f"note: {manifest_path} was made from another version of {recipe} (recipe digest differs)", err=True)
    for shard_id, problem in result.damaged.items():
        click.echo(f"shard {shard_id}: {problem}")
    for sample_id, (expected, got) in result.differences.items():
        click.echo(f"differs {sample_id}: expected {expected[:16]}, got {got[:16]}")
    differ = f"{len(result.differences)} of {result.checked} samples differ"
    if result.damaged:
        _fail(f"{len(result.damaged)} shard files in {data_dir} do not match {manifest_path}"
              + (f", and {differ}" if result.differences else ""), code=1)
    if result.differences:
        _fail(f"{differ} from {manifest_path}", code=1)
    click.echo(f"{result.checked} samples match {manifest_path}"
               + (f"; the shard files in {data_dir} are intact" if data_dir else ""))


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def inspect(out_dir: Path) -> None:
    """Summarise a generated folder: per-class counts by split and type, point counts,
    anomalous fractions, failures, damaged shards (then exit 1; a synth rerun remakes them)."""
    from anomalygen.summary import collect, summarize

    stats = collect(out_dir)
    click.echo(summarize(stats))
    if stats["damaged"]:
        _fail(f"{len(stats['damaged'])} damaged shard(s) in {out_dir}; run synth again to remake them", 1)


@main.command("export")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True,
              help="Layout to write: Anomaly-ShapeNet's or Real3D-AD's release folders, or one PLY per sample.")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--layout", type=click.Choice(LAYOUTS), default="v1", show_default=True,
              help="anomaly-shapenet: the first release's class folders (v1), or the second release's "
                   "Anomaly-ShapeNet-v2/dataset/{pcd,obj} trees with template meshes (v2).")
@click.option("--gt-delimiter", type=click.Choice(list(GT_DELIMITERS)), default="comma", show_default=True,
              help="anomaly-shapenet: between GT columns; comma as released, space for PASDF.")
@click.option("--ply-templates", is_flag=True, help="real3d-ad: also write Real3D-AD-PLY/<cls>/*template*.ply (PO3AD).")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="ascii",
              show_default=True, help="PCD encoding (the releases use ascii).")
@click.option("--normals", is_flag=True, help="Also write normal_x/y/z fields into the PCD files.")
@click.option("--no-meshes", is_flag=True, help="Write no meshes, not even those the run kept or --layout v2 wants.")
@click.option("--recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The recipe that made SRC_DIR: regenerates the meshes it did not keep (checked by checksum).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Prepared-mesh cache for --recipe (default: $ANOMALYGEN_CACHE or ~/.cache/anomalygen).")
@click.option("--overwrite", is_flag=True, help="Write into DEST even if it is not empty.")
@click.pass_context
def export_command(ctx: click.Context, src_dir: Path, fmt: str, dest: Path, no_meshes: bool, **given) -> None:
    """Write the generated folder SRC_DIR to DEST in another layout, for existing loaders."""
    from anomalygen.formats import EXPORT_OPTIONS, export_dataset

    given["meshes"] = not no_meshes
    flags = {"meshes": "no_meshes"}            # option -> its parameter where the names differ
    for name in set(given) - set(EXPORT_OPTIONS[fmt]):
        param = flags.get(name, name)
        if ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE:
            raise ValueError(f"--{param.replace('_', '-')} does not apply to --format {fmt}")
    options = {name: value for name, value in given.items() if name in EXPORT_OPTIONS[fmt]}
    summary = export_dataset(src_dir, fmt, dest, **options)
    meshes = f", {summary['meshes']} meshes" if summary.get("meshes") else ""
    where = summary.get("root", str(dest))
    click.echo(f"{where}: {summary['samples']} samples ({summary['anomalous']} anomalous){meshes} as {fmt}")


@main.command("import")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), required=True,
              help="Layout of SRC: a downloaded Anomaly-ShapeNet or Real3D-AD folder.")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--normals", type=click.Choice(["estimate", "zeros"]), default="estimate", show_default=True,
              help="Normals for files without them: PCA over 16 neighbours, or zeros.")
@click.option("--points", type=click.Choice(["auto", "pcd", "gt"]), default="auto", show_default=True,
              help="Cloud of an anomalous sample: its pcd (auto: unless the GT is another point set of the "
                   "same size; another row count is a failure), always the pcd, or the GT rows.")
@click.option("--overwrite", is_flag=True, help="Replace the dataset already in OUT_DIR (all of it).")
def import_command(src: Path, fmt: str, out_dir: Path, normals: str, points: str, overwrite: bool) -> None:
    """Read a real dataset folder SRC into shards in OUT_DIR, so detectors and evaluation run on it.

    A folder written by `anomalygen export` is restored with its ids, params, seeds and types.
    Files that contradict themselves are listed as failed (reasons in OUT_DIR/manifest.json).
    """
    from anomalygen.formats import import_dataset

    summary = import_dataset(src, fmt, out_dir, normals=normals, points=points, overwrite=overwrite)
    restored = (f", {summary['restored']} restored from anomalygen.json ({summary['restored_exactly']} exactly)"
                if summary["restored"] else "")
    click.echo(f"{out_dir}: {summary['samples']} samples from {summary['classes']} classes, "
               f"{summary['anomalous']} anomalous, {summary['failed']} failed, "
               f"{summary['unmatched_points']} GT points unmatched{restored}")
    for sample_id, reason in sorted(summary["failures"].items()):
        click.echo(f"failed {sample_id}: {reason}", err=True)


@main.command()
@click.argument("data_dir", type=click.Path(exists=True, path_type=Path))
@click.argument("sample_id")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PNG file to write.")
@click.option("--scores", "scores_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scores.h5 written by `anomalygen score`: adds a row coloured by the detector's point scores.")
@click.option("--views", type=click.IntRange(1, 8), default=3, show_default=True, help="Views around the object.")
def show(data_dir: Path, sample_id: str, out_path: Path, scores_path: Path | None, views: int) -> None:
    """Render sample SAMPLE_ID of DATA_DIR (e.g. vase3/test/hole0) to a PNG: normal points grey,
    anomalous points coloured by anomaly, several views and a close-up of the defect."""
    from anomalygen.render import render_sample
    from anomalygen.shards import open_dataset

    try:
        sample = open_dataset(data_dir)[sample_id]
    except KeyError:
        _fail(f"{data_dir}: no sample {sample_id!r}")
    point_scores = None
    if scores_path:
        from anomalygen.detect.train import sample_point_scores

        point_scores = sample_point_scores(scores_path, sample_id)
    click.echo(render_sample(sample, out_path, point_scores=point_scores, views=views))


@main.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="HTML file to write; thumbnails go to a folder beside it.")
def gallery(data_dir: Path, out_path: Path) -> None:
    """Write a static HTML page with one thumbnail per class and anomaly type of DATA_DIR."""
    from anomalygen.gallery import write_gallery

    click.echo(write_gallery(data_dir, out_path))
