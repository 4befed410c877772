"""Command line: thin click commands; the work happens in the modules they call."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import click

from anomalygen import __version__


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anomalygen")
def main() -> None:
    """Manufacture 3D anomaly-detection benchmarks from edited meshes.

    Start with `anomalygen synth recipes/anomaly_shapenet.yaml`, then `anomalygen inspect OUT`.
    """


@main.command()
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: the recipe's output.dir).")
@click.option("--classes", help="Comma-separated class names to generate (default: all of the recipe's).")
@click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="Worker processes; the output is identical for any number.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where prepared meshes are cached (default: $ANOMALYGEN_CACHE or ~/.cache/anomalygen/prepared).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary; errors only.")
def synth(recipe: Path, out_dir: Path | None, classes: str | None, workers: int, cache_dir: Path | None, quiet: bool) -> None:
    """Generate the benchmark described by RECIPE (a YAML file) as HDF5 shards + manifest.json.

    Re-running the same command resumes an interrupted run: finished shards are kept.
    """
    from tqdm import tqdm

    from anomalygen.pipeline import RunConflict, synthesize
    from anomalygen.recipe import RecipeError, load_recipe

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
        manifest = synthesize(parsed, out_dir, classes=selected, workers=workers, cache_dir=cache_dir, on_shard_done=progress)
    except RunConflict as error:
        bar.close()
        _fail(str(error))
    bar.close()
    elapsed = time.perf_counter() - started
    if not quiet:
        n_done = len(manifest["samples"])
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(timings.items()))
        click.echo(f"{out_dir}: {n_done} samples in {len(manifest['shards'])} shards, "
                   f"{len(manifest['failed'])} failed; {elapsed:.1f}s wall ({stages} of worker time)")
    for sample_id, reason in sorted(failures.items()):
        click.echo(f"failed {sample_id}: {reason}", err=True)


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def inspect(out_dir: Path) -> None:
    """Summarise a generated folder: per-class counts by split and type, point counts,
    anomalous fractions, failures."""
    from anomalygen.inspect import summarize

    click.echo(summarize(out_dir))


if __name__ == "__main__":
    main()
