"""Command line: thin click commands; the work happens in the modules they call."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Sequence

import click
from click.core import ParameterSource

from anomalygen import __version__
from anomalygen.execute import Execution, ExecutionConflict, ExecutionUnavailable
from anomalygen.formats import ENCODINGS, EXPORT_FORMATS, GT_DELIMITERS, IMPORT_FORMATS, LAYOUTS


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _stoppable(kept: str = "finished shards"):
    """SIGTERM and Ctrl-C stop the run the same way (the pool's workers are stopped on the way
    out, see anomalygen.execute); exit status 128 + the signal's number."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt as interrupt:
        signum = interrupt.args[0] if interrupt.args else signal.SIGINT
        _fail(f"interrupted; run the same command again to finish ({kept} are kept)", 128 + signum)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _user_error(error: Exception) -> str | None:
    """The one-line message of an error the user caused, None for a bug (which keeps its traceback).

    The library raises ValueError for bad input (FileNotFoundError for missing input; a damaged
    shard's ShardError is one too); any OSError here is a file or folder the user named;
    FolderLocked: another run writes the output folder; RunConflict: it holds another recipe's
    run; ExecutionUnavailable: the Dask scheduler named does not answer.
    """
    from anomalygen.outlock import FolderLocked
    from anomalygen.pipeline import RunConflict

    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, (OSError, ValueError, FolderLocked, RunConflict, ExecutionUnavailable)):
        return str(error)
    return None


def _stderr(describe: Callable[[dict], str]) -> Callable[[dict], None]:
    """A progress callback printing the line ``describe(event)`` of each event on stderr."""
    return lambda event: click.echo(describe(event), err=True)


def _names(text: str | None) -> list[str] | None:
    """A comma-separated list option (None when not given)."""
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


class _Registered(click.Choice):
    """A choice among the names of a registry, read when first needed (reading it may import torch)."""

    def __init__(self, names: Callable[[], Sequence[str]]):
        super().__init__(())
        self._names = names

    choices = property(lambda self: tuple(self._names()), lambda self, value: None)


def _detector_methods() -> list[str]:
    from anomalygen.detect.registry import registered_methods

    return registered_methods()


class _Commands(click.Group):
    """The command group: the one place where user errors become a line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = _user_error(error)
            if message is None:
                raise
            _fail(message)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anomalygen")
def main() -> None:
    """Manufacture 3D anomaly-detection benchmarks from edited meshes.

    Start with `anomalygen synth recipes/anomaly_shapenet.yaml`, then `anomalygen inspect OUT`.
    """


def execution_options(*, cache: bool = True, workers: int | None = None, jobs_alias: bool = False):
    """--workers, --scheduler, --dask-local (and --cache-dir), shared by the commands that run jobs.
    ``workers``: the default of --workers (all CPUs); ``jobs_alias``: --jobs, its deprecated name."""
    def decorate(command):
        options = [
            click.option("--workers", *(["--jobs"] if jobs_alias else []), "workers", type=click.IntRange(min=1),
                         default=workers or os.cpu_count() or 1, show_default=True,
                         help="Local worker processes; the output is identical for any number"
                              + (" (--jobs: its old name, deprecated)." if jobs_alias else ".")),
            click.option("--scheduler", metavar="tcp://HOST:PORT",
                         help="Run the jobs on the Dask cluster of this scheduler. Its workers need anomalygen "
                              "installed and must see the folders named here at the same paths (a shared file "
                              "system); start them with one thread each (dask worker --nthreads 1)."),
            click.option("--dask-local", type=click.IntRange(min=1), metavar="N",
                         help="Start a local Dask cluster of N worker processes for the run (to try Dask out)."),
        ]
        if cache:
            options.append(click.option(
                "--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                help="Where prepared meshes are cached (default: $ANOMALYGEN_CACHE or ~/.cache/anomalygen/prepared); "
                     "with --scheduler, a folder the workers share."))
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def chosen_execution(workers: int, scheduler: str | None, dask_local: int | None) -> Execution:
    """The Execution that --workers, --scheduler and --dask-local ask for (at most one of them)."""
    if click.get_current_context().get_parameter_source("workers") == ParameterSource.DEFAULT and (
            scheduler is not None or dask_local is not None):
        workers = 1                            # the default --workers gives way to a Dask option
    try:
        return Execution(workers, scheduler, dask_local)
    except ExecutionConflict as conflict:
        raise click.UsageError(str(ExecutionConflict(conflict.options, lambda name: "--" + name.replace("_", "-"))))


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


@main.command("train-detector")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated (or imported) folder; only its normal training samples are used.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder for the models and run.json.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@click.option("--method", type=_Registered(_detector_methods), default="imrnet", show_default=True,
              help="Detector to train.")
@click.option("--shared", is_flag=True, help="One model for all classes instead of one per class.")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, or cuda when available.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, augmentation and sampling.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of config overrides for the method (e.g. steps: 200, width: 96).")
@click.option("--init", "init", type=click.Path(exists=True, path_type=Path),
              help="imrnet only: start from this pretrained checkpoint (or `anomalygen pretrain` folder) "
                   "and fine-tune it per class; sets the config key `init`.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_detector_command(data_dir, out_dir, classes, method, shared, device, seed, config_file, init, quiet) -> None:
    """Train a detector on the normal training samples of DATA (per class by default)."""
    from anomalygen.detect.base import read_config
    from anomalygen.detect.train import describe_training, train_detector

    config = read_config(config_file) if config_file else None
    if init is not None:
        if method != "imrnet":
            _fail(f"--init: only for --method imrnet, not {method}")
        config = {**(config or {}), "init": str(init.resolve())}
    try:
        run = train_detector(data_dir, out_dir, classes=_names(classes), method=method, shared=shared, config=config,
                             device=device, seed=seed, progress=None if quiet else _stderr(describe_training))
    except (FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    click.echo(f"trained: {run}")


@main.command("pretrain")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated folder; the normal training samples of its classes are the pretraining set.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder: run.json and shared/model.pt, the checkpoint to give `train-detector --init`.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of IMRNet config overrides; defaults are IMRNet's with steps: 6000, pool_size: 4. "
                   "Fine-tuning must use the same architecture keys (width, depth, heads, ...).")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, or cuda when available.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, augmentation and sampling.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pretrain_command(data_dir, out_dir, classes, config_file, device, seed, quiet) -> None:
    """Pretrain one IMRNet on many shapes: the normal training samples of every class of DATA.

    Takes up to an hour on a 2-core CPU at the defaults. Then `anomalygen train-detector
    --init OUT ...` fine-tunes it for each class.
    """
    from anomalygen.detect.base import read_config
    from anomalygen.detect.train import describe_training, pretrain

    try:
        checkpoint = pretrain(data_dir, out_dir, classes=_names(classes), config=read_config(config_file) if config_file
                              else None, device=device, seed=seed, progress=None if quiet else _stderr(describe_training))
    except (FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    click.echo(f"pretrained: {checkpoint}")


@main.command("score")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Run folder written by train-detector.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Folder whose test samples are scored.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Scores file (default: RUN/scores.h5).")
def score_command(run_dir, data_dir, out_path) -> None:
    """Score every test sample of DATA with the run's models: per-point and object scores to HDF5."""
    from anomalygen.detect.train import describe_scoring, score_run

    try:
        path = score_run(run_dir, data_dir, out_path, progress=_stderr(describe_scoring))
    except (FileNotFoundError, RuntimeError) as error:
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

    click.echo(format_table(evaluate_run(run_dir, data_dir=data_dir)))


class _MethodsOption(click.Option):
    """--methods, whose help lists the registered methods (read only when help is shown)."""

    def get_help_record(self, ctx: click.Context):
        self.help = f"Comma-separated methods to compare (default: all of them): {', '.join(_detector_methods())}."
        return super().get_help_record(ctx)


@main.command()
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated (or imported) folder with train and test splits.")
@click.option("--methods", cls=_MethodsOption)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Report folder: runs/<method>/<class>/, tables/, report.md, means.png, benchmark.json. "
                   "Running again with the same folder skips the (method, class) units already done.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@execution_options(cache=False, workers=1, jobs_alias=True)
@click.option("--config", "config_files", multiple=True, metavar="METHOD=FILE",
              help="YAML mapping of config overrides for one method, e.g. imrnet=tiny.yaml (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every method's training.")
@click.option("--quiet", is_flag=True, help="No per-unit progress lines.")
def benchmark(data_dir, methods, out_dir, classes, workers, scheduler, dask_local, config_files, seed, quiet) -> None:
    """Train, score and evaluate every method on every class of DATA; write the paper-style
    tables (methods x classes + Mean, for I-AUROC, P-AUROC, I-AP, P-AP and AUPRO) as Markdown and
    CSV, a bar chart of the means, and print the means. The classes run as jobs on --workers
    processes (or Dask), as synth's shards do; the tables are the same on any."""
    from anomalygen.detect.benchmark import describe_unit, format_means, read_configs, run_benchmark

    execution = chosen_execution(workers, scheduler, dask_local)
    try:
        with _stoppable("finished (method, class) units"):
            report = run_benchmark(data_dir, out_dir, _names(methods), classes=_names(classes), execution=execution,
                                   configs=read_configs(config_files), seed=seed,
                                   progress=None if quiet else _stderr(describe_unit))
    except (FileNotFoundError, RuntimeError) as error:
        _fail(str(error))
    click.echo(format_means(report))
    click.echo(f"{len(report['classes'])} classes, {report['wall_seconds']:.0f} s; report: {out_dir / 'report.md'}")


if __name__ == "__main__":
    main()
