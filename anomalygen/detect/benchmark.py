"""Train, score and evaluate several methods on every class; write the paper-style tables.

::

    report = run_benchmark("data/", "report/", methods=["imrnet", "btf-fpfh"], execution=Execution(2))

A **report folder**::

    runs/<method>/<class>/    one train_detector run folder per (method, class): run.json, the
                              model, scores.h5, evaluation.json/.csv; a unit is done when its
                              evaluation.json exists, so a re-run skips it (resumable)
    tables/<metric>.md, .csv  one table per metric, laid out like the paper's Tables S1/S2:
                              methods as rows, classes as columns, then a Mean column
    report.md                 all five tables
    means.png                 bar chart of every method's class means per metric
    benchmark.json            what was run on what, per-unit timings, the means

Units run class by class (a class's methods one after the other, so that a method with an
``encoder_from``, e.g. ``patchcore-imrnet``, takes its encoder from the same class's model of
that method instead of training another); the classes are jobs of an
:class:`~anomalygen.execute.Execution` (in this process, on local processes or on a Dask
cluster, as synthesis runs). Every unit is seeded, so the tables do not depend on where the
units ran or on the order they finish in. Methods and their table labels come from the
detector registry (:mod:`anomalygen.detect.base`). Progress is reported through a callback;
nothing here prints.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shutil
import time
from itertools import repeat
from pathlib import Path
from typing import Callable, Iterable, Sequence

from anomalygen.detect.base import config_from_dict, read_config, stored_config
from anomalygen.detect.registry import available_methods, detector_class, registered_methods
from anomalygen.detect.evaluate import EVALUATION_JSON, METRICS, evaluate_run, jsonable
from anomalygen.detect.train import RUN_FILE, score_run, train_detector
from anomalygen.execute import Execution
from anomalygen.shards import open_dataset

__all__ = ["run_benchmark", "read_configs", "format_means", "describe_unit", "label", "write_tables", "BENCHMARK_JSON"]

BENCHMARK_JSON = "benchmark.json"


def label(method: str) -> str:
    """The method's name in tables: its detector's ``label`` (``BTF (FPFH)``), else its name."""
    try:
        return detector_class(method).label or method
    except KeyError:
        return method


def read_configs(items: Iterable[str]) -> dict[str, dict]:
    """``METHOD=FILE`` items (FILE: a YAML mapping of config overrides) -> method -> overrides."""
    configs = {}
    for item in items:
        method, sep, file = item.partition("=")
        if not sep or not Path(file).is_file():
            raise ValueError(f"--config {item}: expected METHOD=FILE with an existing YAML file")
        values = read_config(file)
        if values is None:
            raise ValueError(f"{file}: expected a mapping of config keys to values")
        configs[method.strip()] = values
    return configs


def _unit_dir(out_dir: Path, method: str, class_name: str) -> Path:
    return out_dir / "runs" / method / class_name


def _unit_config(out_dir: Path, method: str, class_name: str, methods: Sequence[str], configs: dict) -> dict:
    config = dict(configs.get(method) or {})
    provider = detector_class(method).encoder_from
    if provider in methods and "encoder" not in config:
        provider_run = _unit_dir(out_dir, provider, class_name)
        config["encoder"] = str(provider_run / json.loads((provider_run / RUN_FILE).read_text())["models"][class_name])
    return config


def _run_class(data_dir: Path, out_dir: Path, class_name: str, methods: Sequence[str], configs: dict,
               seed: int) -> list[dict]:
    """Every method's unit for one class, in order; done units are read back, not redone."""
    done = []
    for method in methods:
        unit = _unit_dir(out_dir, method, class_name)
        config = _unit_config(out_dir, method, class_name, methods, configs)
        if (unit / EVALUATION_JSON).is_file():
            run = json.loads((unit / RUN_FILE).read_text())
            config_class = detector_class(method).config_class
            wanted = dataclasses.asdict(config_from_dict(config_class, config))
            # a key added since counts as what the run did without it (stored_config)
            if dataclasses.asdict(stored_config(config_class, run["config"])) != wanted or run["seed"] != seed:
                raise ValueError(f"{unit}: done before with another config or seed than asked now; "
                                 "use another --out, or delete that folder to redo it")
            done.append(_unit_summary(unit, method, class_name, resumed=True))
            continue
        if unit.exists():                      # an interrupted unit: start it again from nothing
            shutil.rmtree(unit)
        started = time.perf_counter()
        train_detector(data_dir, unit, classes=[class_name], method=method, config=config, seed=seed, progress=None)
        score_run(unit, data_dir)
        evaluate_run(unit, data_dir=data_dir)
        done.append(_unit_summary(unit, method, class_name, resumed=False, seconds=time.perf_counter() - started))
    return done


def _unit_summary(unit: Path, method: str, class_name: str, resumed: bool, seconds: float | None = None) -> dict:
    evaluation = json.loads((unit / EVALUATION_JSON).read_text())
    run = json.loads((unit / RUN_FILE).read_text())
    row = evaluation["classes"][class_name]
    return {"method": method, "class": class_name, "metrics": {m: row[m] for m in METRICS},
            "train_seconds": run["train_seconds"][class_name],
            "score_seconds": run["scoring"]["seconds_per_class"][class_name],
            "seconds": seconds, "resumed": resumed}


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def run_benchmark(data_dir: str | Path, out_dir: str | Path, methods: Sequence[str] | None = None,
                  classes: Sequence[str] | None = None, execution: Execution = Execution(),
                  configs: dict[str, dict] | None = None, seed: int = 0,
                  progress: Callable[[dict], None] | None = None) -> dict:
    """Run every (method, class) unit not done yet, then write the tables; returns benchmark.json's content.

    methods: default every registered method, in the registry's order.
    execution: where the classes' jobs run; the results are the same on any.
    progress: called with ``{"event": "unit", "done", "total", **unit summary}`` as units finish.
    configs: per-method config overrides, e.g. ``{"imrnet": {"steps": 200}}``.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    methods = registered_methods() if methods is None else list(methods)
    known = available_methods()
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; available: {known}")
    if not methods:
        raise ValueError("no methods given")
    configs = configs or {}
    for method, values in configs.items():      # a bad value fails now, naming its key, before any unit runs
        if method in methods:
            config_from_dict(detector_class(method).config_class, values)
    # a method that takes its encoder from another (patchcore-imrnet from imrnet) after the others;
    # otherwise the order given
    methods = sorted(dict.fromkeys(methods), key=lambda m: (detector_class(m).encoder_from is not None, methods.index(m)))
    available = open_dataset(data_dir, split="train").class_names
    names = list(classes) if classes else available
    missing = sorted(set(names) - set(available))
    if missing:
        raise ValueError(f"{data_dir}: no training samples for class(es) {missing}")
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    units: list[dict] = []

    # detectors run torch, whose thread pools a forked child of a process that has used them can
    # deadlock in: pool workers start as fresh interpreters (Dask's start so anyway)
    with dataclasses.replace(execution, start_method=execution.start_method or "spawn").start() as map_jobs:
        for results in map_jobs(_run_class, repeat(data_dir), repeat(out_dir), names,
                                repeat(methods), repeat(configs), repeat(seed)):
            for unit in results:
                units.append(unit)
                if progress:
                    progress({"event": "unit", "done": len(units), "total": len(names) * len(methods), **unit})

    table = {m: {c: {} for c in names} for m in methods}
    for unit in units:
        table[unit["method"]][unit["class"]] = {k: _number(v) for k, v in unit["metrics"].items()}
    means = {m: {metric: _mean([table[m][c][metric] for c in names]) for metric in METRICS} for m in methods}
    report = {
        "data_dir": str(data_dir.resolve()), "methods": list(methods), "classes": names, "seed": seed,
        "configs": configs, "execution": dataclasses.asdict(execution), "wall_seconds": time.perf_counter() - started,
        "units": sorted(units, key=lambda u: (methods.index(u["method"]), names.index(u["class"]))),
        "mean": means,
    }
    write_tables(out_dir, methods, names, table, means)
    (out_dir / BENCHMARK_JSON).write_text(json.dumps(jsonable(report), indent=1, allow_nan=False) + "\n")
    return report


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def write_tables(out_dir: Path, methods: Sequence[str], classes: Sequence[str], table: dict, means: dict) -> None:
    """tables/<metric>.md and .csv, report.md and means.png (see the module docstring)."""
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    sections = []
    for metric in METRICS:
        header = ["Method", *classes, "Mean"]
        rows = [[label(m), *(_cell(table[m][c].get(metric, math.nan)) for c in classes), _cell(means[m][metric])]
                for m in methods]
        markdown = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                              *("| " + " | ".join(r) + " |" for r in rows)])
        (tables / f"{metric}.md").write_text(f"## {metric}\n\n{markdown}\n")
        with open(tables / f"{metric}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["method", *classes, "mean"])
            for m in methods:   # full precision; undefined values as empty cells
                values = [*(table[m][c].get(metric, math.nan) for c in classes), means[m][metric]]
                writer.writerow([m, *("" if math.isnan(v) else repr(v) for v in values)])
        sections.append(f"## {metric}\n\n{markdown}\n")
    summary = ["| Method | " + " | ".join(METRICS) + " |", "|" + "---|" * (len(METRICS) + 1),
               *(f"| {label(m)} | " + " | ".join(_cell(means[m][k]) for k in METRICS) + " |" for m in methods)]
    (out_dir / "report.md").write_text("# Benchmark\n\nMeans over the classes:\n\n" + "\n".join(summary) + "\n\n"
                                       + "\n".join(sections))
    _bar_chart(out_dir / "means.png", methods, means)


def _bar_chart(path: Path, methods: Sequence[str], means: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9, 4), dpi=110)
    width = 0.8 / len(methods)
    x = np.arange(len(METRICS))
    for i, m in enumerate(methods):
        values = [means[m][k] for k in METRICS]
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, np.nan_to_num(values), width, label=label(m))
    ax.set_xticks(x, METRICS)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean over classes")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(methods), 3), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def format_means(report: dict) -> str:
    """benchmark.json's means as a plain-text table: one row per method, one column per metric."""
    width = max(len(label(m)) for m in report["methods"])
    lines = [f"{'method':{width}s}  " + "  ".join(f"{m:>7s}" for m in METRICS)]
    for m in report["methods"]:
        cells = ("      -" if v is None else f"{v:7.3f}" for v in (report["mean"][m][k] for k in METRICS))
        lines.append(f"{label(m):{width}s}  " + "  ".join(cells))
    return "\n".join(lines)


def describe_unit(event: dict) -> str:
    """One line for a progress event of :func:`run_benchmark` (a finished (method, class) unit)."""
    scores = "  ".join(f"{m} {'-' if event['metrics'][m] is None else format(event['metrics'][m], '.3f')}"
                       for m in ("I-AUROC", "P-AUROC"))
    how = "done before" if event["resumed"] else f"{event['seconds']:.0f} s"
    return f"[{event['done']}/{event['total']}] {event['method']} {event['class']}: {scores} ({how})"
