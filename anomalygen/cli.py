"""Command line: thin click commands; the work happens in the modules they call."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import click
from click.core import ParameterSource

from anomalygen import __version__
from anomalygen.execute import Execution, ExecutionUnavailable


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anomalygen")
def main() -> None:
    """Manufacture 3D anomaly-detection benchmarks from edited meshes.

    Start with `anomalygen synth recipes/anomaly_shapenet.yaml`, then `anomalygen inspect OUT`.
    """


def execution_options(command):
    """--workers, --scheduler, --dask-local and --cache-dir, shared by the commands that generate."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
                     help="Local worker processes; the output is identical for any number."),
        click.option("--scheduler", metavar="tcp://HOST:PORT",
                     help="Run the jobs on the Dask cluster of this scheduler. Its workers need anomalygen installed "
                          "and must see the output folder and --cache-dir at the same paths (a shared file system); "
                          "start them with one thread each (dask worker --nthreads 1)."),
        click.option("--dask-local", type=click.IntRange(min=1), metavar="N",
                     help="Start a local Dask cluster of N worker processes for the run (to try Dask out)."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where prepared meshes are cached (default: $ANOMALYGEN_CACHE or ~/.cache/anomalygen/prepared); "
                          "with --scheduler, a folder the workers share."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def chosen_execution(workers: int, scheduler: str | None, dask_local: int | None) -> Execution:
    """The Execution that --workers, --scheduler and --dask-local ask for (at most one of them)."""
    workers_given = workers > 1 and click.get_current_context().get_parameter_source("workers") != ParameterSource.DEFAULT
    chosen = [flag for flag, given in [("--workers", workers_given), ("--scheduler", scheduler is not None),
                                       ("--dask-local", dask_local is not None)] if given]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} exclude each other: jobs run on local processes, "
                               f"an existing Dask cluster or a local Dask cluster")
    if scheduler is not None or dask_local is not None:
        return Execution(scheduler=scheduler, dask_local=dask_local)
    return Execution(workers)


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: the recipe's output.dir).")
@click.option("--classes", help="Comma-separated class names to generate (default: all of the recipe's).")
@execution_options
@click.option("--quiet", is_flag=True, help="No progress bar and no summary; errors only.")
def synth(recipe: Path, out_dir: Path | None, classes: str | None, workers: int, scheduler: str | None,
          dask_local: int | None, cache_dir: Path | None, quiet: bool) -> None:
    """Generate the benchmark described by RECIPE (a YAML file) as HDF5 shards + manifest.json.

    Re-running the same command resumes an interrupted run: finished shards are kept.
    """
    from tqdm import tqdm

    from anomalygen.pipeline import RunConflict, synthesize
    from anomalygen.recipe import RecipeError, load_recipe

    execution = chosen_execution(workers, scheduler, dask_local)
    try:
        parsed = load_recipe(recipe)
    except RecipeError as error:
        _fail(str(error))
    names = [c.name for c in parsed.classes]
    selected = None
    if classes:
        selected = [c.strip() for c in classes.split(",") if c.strip()]
        unknown = [c for c in selected if c not in names]
        if unknown:
            _fail(f"--classes: {', '.join(unknown)} not in {recipe} (it has {', '.join(names)})")
    out_dir = out_dir or parsed.output.dir
    total = sum(c.train + sum(c.test.values()) for c in parsed.classes if selected is None or c.name in selected)
    timings: dict[str, float] = defaultdict(float)
    failures: dict[str, str] = {}
    bar = tqdm(total=total, unit="sample", disable=quiet, desc=parsed.name, dynamic_ncols=True)

    def progress(report, shard) -> None:
        bar.update(len(shard.samples))
        failures.update(report.failed)
        for stage, seconds in report.timings.items():
            timings[stage] += seconds

    started = time.perf_counter()
    try:
        manifest = synthesize(parsed, out_dir, classes=selected, execution=execution, cache_dir=cache_dir,
                              on_shard_done=progress, on_start=bar.update)
    except (RunConflict, ExecutionUnavailable) as error:
        bar.close()
        _fail(str(error))
    bar.close()
    elapsed = time.perf_counter() - started
    if not quiet:
        n_done = len(manifest["samples"])
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(timings.items())) or "nothing left to do"
        click.echo(f"{out_dir}: {n_done} samples in {len(manifest['shards'])} shards, "
                   f"{len(manifest['failed'])} failed; {elapsed:.1f}s wall (worker time: {stages})")
    for sample_id, reason in sorted(failures.items()):
        click.echo(f"failed {sample_id}: {reason}", err=True)


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="A manifest.json to compare with (e.g. recipes/manifests/ci_small.json).")
@click.option("--sample", "samples", multiple=True, help="Only this sample id (repeatable); default: all.")
@execution_options
def verify(recipe: Path, manifest_path: Path, samples: tuple[str, ...], workers: int, scheduler: str | None,
           dask_local: int | None, cache_dir: Path | None) -> None:
    """Regenerate RECIPE's samples in memory and compare their checksums with a manifest.

    Prints every sample that differs and exits 1 if any does; writes nothing.
    """
    import json

    from anomalygen.pipeline import verify as verify_samples
    from anomalygen.recipe import RecipeError, load_recipe

    execution = chosen_execution(workers, scheduler, dask_local)
    try:
        parsed = load_recipe(recipe)
    except RecipeError as error:
        _fail(str(error))
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("recipe", {}).get("digest") != parsed.digest():
        click.echo(f"note: {manifest_path} was made from another version of {recipe} (recipe digest differs)", err=True)
    try:
        differences = verify_samples(parsed, manifest, sample_ids=samples or None, execution=execution,
                                     cache_dir=cache_dir)
    except ExecutionUnavailable as error:
        _fail(str(error))
    checked = len(samples) if samples else len(manifest.get("samples", {})) + len(manifest.get("failed", {}))
    for sample_id, (expected, got) in differences.items():
        click.echo(f"differs {sample_id}: expected {expected[:16]}, got {got[:16]}")
    if differences:
        _fail(f"{len(differences)} of {checked} samples differ from {manifest_path}", code=1)
    click.echo(f"{checked} samples match {manifest_path}")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def inspect(out_dir: Path) -> None:
    """Summarise a generated folder: per-class counts by split and type, point counts,
    anomalous fractions, failures."""
    from anomalygen.inspect import summarize

    click.echo(summarize(out_dir))


@main.command("export")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["anomaly-shapenet", "real3d-ad", "ply"]), required=True,
              help="Layout to write: Anomaly-ShapeNet's or Real3D-AD's release folders, or one PLY per sample.")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--encoding", type=click.Choice(["ascii", "binary", "binary_compressed"]), default="ascii",
              show_default=True, help="PCD encoding (the releases use ascii).")
@click.option("--normals", is_flag=True, help="Also write normal_x/y/z fields into the PCD files.")
@click.option("--no-meshes", is_flag=True, help="Do not write the edited meshes as OBJ even if the run kept them.")
@click.option("--overwrite", is_flag=True, help="Write into DEST even if it is not empty.")
def export_command(src_dir: Path, fmt: str, dest: Path, encoding: str, normals: bool, no_meshes: bool, overwrite: bool) -> None:
    """Write the generated folder SRC_DIR to DEST in another layout, for existing loaders."""
    from anomalygen.formats import export_dataset

    options = {"overwrite": overwrite}
    if fmt != "ply":
        options.update(encoding=encoding, normals=normals, meshes=not no_meshes)
    try:
        summary = export_dataset(src_dir, fmt, dest, **options)
    except (ValueError, FileNotFoundError) as error:
        _fail(str(error))
    click.echo(f"{dest}: {summary['samples']} samples ({summary.get('anomalous', 0)} anomalous) as {fmt}")


@main.command("import")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["anomaly-shapenet", "real3d-ad"]), required=True,
              help="Layout of SRC: a downloaded Anomaly-ShapeNet or Real3D-AD folder.")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--normals", type=click.Choice(["estimate", "zeros"]), default="estimate", show_default=True,
              help="Normals for files without them: PCA over 16 neighbours, or zeros.")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in OUT_DIR.")
def import_command(src: Path, fmt: str, out_dir: Path, normals: str, overwrite: bool) -> None:
    """Read a real dataset folder SRC into shards in OUT_DIR, so detectors and evaluation run on it."""
    from anomalygen.formats import import_dataset

    try:
        summary = import_dataset(src, fmt, out_dir, normals=normals, overwrite=overwrite)
    except (ValueError, FileNotFoundError) as error:
        _fail(str(error))
    click.echo(f"{out_dir}: {summary['samples']} samples from {summary['classes']} classes, "
               f"{summary['anomalous']} anomalous, {summary['failed']} failed, "
               f"{summary['unmatched_points']} GT points unmatched")


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
        from anomalygen.detect.train import read_scores

        class_name = sample_id.split("/")[0]
        found = [s for s in read_scores(scores_path, classes=[class_name]) if s.sample_id == sample_id]
        if not found:
            _fail(f"{scores_path}: no scores for {sample_id!r}")
        point_scores = found[0].point_scores
    click.echo(render_sample(sample, out_path, point_scores=point_scores, views=views))


@main.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="HTML file to write; thumbnails go to a folder beside it.")
def gallery(data_dir: Path, out_path: Path) -> None:
    """Write a static HTML page with one thumbnail per class and anomaly type of DATA_DIR."""
    from anomalygen.gallery import write_gallery

    click.echo(write_gallery(data_dir, out_path))


def _print_training(event: dict) -> None:
    """train_detector's progress events, one line each on stderr."""
    if event["event"] == "start":
        click.echo(f"{event['model']}: {event['clouds']} training clouds", err=True)
    elif event["event"] == "trained":
        click.echo(f"{event['model']}: trained in {event['seconds']:.1f} s", err=True)
    else:
        click.echo("  " + "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in event.items() if k not in ("event", "model")), err=True)


@main.command("train-detector")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated (or imported) folder; only its normal training samples are used.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder for the models and run.json.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@click.option("--method", default="imrnet", show_default=True, help="Detector to train.")
@click.option("--shared", is_flag=True, help="One model for all classes instead of one per class.")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, or cuda when available.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, augmentation and sampling.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of config overrides for the method (e.g. steps: 200, width: 96).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_detector_command(data_dir, out_dir, classes, method, shared, device, seed, config_file, quiet) -> None:
    """Train a detector on the normal training samples of DATA (per class by default)."""
    import yaml

    from anomalygen.detect.train import train_detector

    selected = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    config = yaml.safe_load(config_file.read_text()) if config_file else None
    if config is not None and not isinstance(config, dict):
        _fail(f"{config_file}: expected a mapping of config keys to values")
    try:
        run = train_detector(data_dir, out_dir, classes=selected, method=method, shared=shared, config=config,
                             device=device, seed=seed, progress=None if quiet else _print_training)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    click.echo(f"trained: {run}")


@main.command("score")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Run folder written by train-detector.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Folder whose test samples are scored.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Scores file (default: RUN/scores.h5).")
def score_command(run_dir, data_dir, out_path) -> None:
    """Score every test sample of DATA with the run's models: per-point and object scores to HDF5."""
    from anomalygen.detect.train import score_run

    try:
        path = score_run(run_dir, data_dir, out_path, progress=lambda e: click.echo(
            f"  {e['sample']}: {e['score']:.3f} ({e['seconds']:.1f} s)", err=True))
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    click.echo(f"scores: {path}")


@main.command()
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Run folder holding scores.h5 (written by `anomalygen score`).")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset the scores belong to (default: the one recorded in scores.h5); needed for AUPRO.")
def evaluate(run_dir: Path, data_dir: Path | None) -> None:
    """Per-class and mean I-AUROC, I-AP, P-AUROC, P-AP and AUPRO of a scored run,
    printed as a table and written to RUN/evaluation.json and RUN/evaluation.csv."""
    from anomalygen.detect.evaluate import evaluate_run, format_table

    try:
        result = evaluate_run(run_dir, data_dir=data_dir)
    except (ValueError, FileNotFoundError) as error:
        _fail(str(error))
    click.echo(format_table(result))


def _print_unit(event: dict) -> None:
    """run_benchmark's progress events (a finished (method, class) unit), one line each on stderr."""
    scores = "  ".join(f"{m} {'-' if event['metrics'][m] is None else format(event['metrics'][m], '.3f')}"
                       for m in ("I-AUROC", "P-AUROC"))
    how = "done before" if event["resumed"] else f"{event['seconds']:.0f} s"
    click.echo(f"[{event['done']}/{event['total']}] {event['method']} {event['class']}: {scores} ({how})", err=True)


@main.command()
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated (or imported) folder with train and test splits.")
@click.option("--methods", default="imrnet,btf-raw,btf-fpfh,patchcore-fpfh,patchcore-imrnet", show_default=True,
              help="Comma-separated methods to compare: imrnet, btf-raw, btf-fpfh, patchcore-fpfh, patchcore-imrnet.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Report folder: runs/<method>/<class>/, tables/, report.md, means.png, benchmark.json. "
                   "Running again with the same folder skips the (method, class) units already done.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Classes processed at the same time, each in its own process.")
@click.option("--config", "config_files", multiple=True, metavar="METHOD=FILE",
              help="YAML mapping of config overrides for one method, e.g. imrnet=tiny.yaml (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every method's training.")
@click.option("--quiet", is_flag=True, help="No per-unit progress lines.")
def benchmark(data_dir, methods, out_dir, classes, jobs, config_files, seed, quiet) -> None:
    """Train, score and evaluate every method on every class of DATA; write the paper-style
    tables (methods x classes + Mean, for I-AUROC, P-AUROC, I-AP, P-AP and AUPRO) as Markdown and
    CSV, a bar chart of the means, and print the means."""
    import yaml

    from anomalygen.detect.benchmark import LABELS, run_benchmark
    from anomalygen.detect.evaluate import METRICS

    configs = {}
    for item in config_files:
        method, sep, file = item.partition("=")
        if not sep or not Path(file).is_file():
            _fail(f"--config {item}: expected METHOD=FILE with an existing YAML file")
        values = yaml.safe_load(Path(file).read_text())
        if not isinstance(values, dict):
            _fail(f"{file}: expected a mapping of config keys to values")
        configs[method.strip()] = values
    selected = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    try:
        report = run_benchmark(data_dir, out_dir, [m.strip() for m in methods.split(",") if m.strip()],
                               classes=selected, jobs=jobs, configs=configs, seed=seed,
                               progress=None if quiet else _print_unit)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    width = max(len(LABELS.get(m, m)) for m in report["methods"])
    click.echo(f"{'method':{width}s}  " + "  ".join(f"{m:>7s}" for m in METRICS))
    for m in report["methods"]:
        cells = ("      -" if v is None else f"{v:7.3f}" for v in (report["mean"][m][k] for k in METRICS))
        click.echo(f"{LABELS.get(m, m):{width}s}  " + "  ".join(cells))
    click.echo(f"{len(report['classes'])} classes, {report['wall_seconds']:.0f} s; report: {out_dir / 'report.md'}")


if __name__ == "__main__":
    main()
