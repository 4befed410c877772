"""The detector's commands: train-detector, pretrain, score, evaluate, benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from anomalygen.cli.app import (_detector_methods, _fail, _names, _Registered, _stderr, _stoppable, chosen_execution,
                                execution_options, main)


def _training_options(command):
    """--device, --seed and --quiet, shared by train-detector and pretrain."""
    for option in reversed([
        click.option("--device", default="cpu", show_default=True, help="torch device: cpu, or cuda when available."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, augmentation and sampling."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]):
        command = option(command)
    return command


@main.command("train-detector")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A generated (or imported) folder; only its normal training samples are used.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder for the models and run.json.")
@click.option("--classes", help="Comma-separated classes (default: every class with training samples).")
@click.option("--method", type=_Registered(_detector_methods), default="imrnet", show_default=True,
              help="Detector to train.")
@click.option("--shared", is_flag=True, help="One model for all classes instead of one per class.")
@_training_options
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of config overrides for the method (e.g. steps: 200, width: 96).")
@click.option("--init", "init", type=click.Path(exists=True, path_type=Path),
              help="imrnet only: start from this pretrained checkpoint (or `anomalygen pretrain` folder) "
                   "and fine-tune it per class; sets the config key `init`.")
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
@_training_options
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
