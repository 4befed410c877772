"""Strict reading of YAML files, and checks of what they hold that name the file, the key path
and the value on failure.

Used by :mod:`anomalygen.recipe` for the whole recipe and by each registered shape source
(:mod:`anomalygen.shapes.source`) for its class entries, so that every problem reads the same::

    recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer

Imports nothing of anomalygen.
"""

from __future__ import annotations

import difflib
import numbers
import os
import re
import reprlib
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Sequence

import yaml

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 120
_short.maxlist = _short.maxtuple = 8
_short.maxdict = 6
_short.maxlevel = 3


class RecipeError(ValueError):
    """A recipe that cannot be used. ``str(err)`` is one line:
    ``recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer``.

    ``value`` is the offending value itself; the message shows a shortened repr of it."""

    def __init__(self, file: str | Path, key: str, value: object, expected: str):
        self.file, self.key, self.value, self.expected = str(file), key, value, expected
        super().__init__(f"{self.file}: {key}: got {_short.repr(value)}, expected {expected}")


NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
NAME_TEXT = "a name of letters, digits, '_', '.', '-'"


def join_key(parent: str, key: object) -> str:
    return f"{parent}.{key}" if parent else str(key)


def fmt(x: float, integer: bool = False) -> str:
    return str(int(x)) if integer and float(x).is_integer() else repr(x)


def is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and bool(os.fspath(value))


def is_name(value: object) -> bool:
    """The rule for every name that becomes part of a path: recipe, class and sample names alike."""
    return isinstance(value, str) and bool(NAME_RE.fullmatch(value)) and value not in (".", "..")


class Checker:
    """Type and range checks that name the recipe file and key path on failure."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, value: object, expected: str) -> NoReturn:
        raise RecipeError(self.file, key, value, expected)

    def mapping(self, key: str, value: object, allowed: Sequence[str],
                misplaced: Callable[[str], str | None] = lambda k: None) -> dict:
        """A mapping with keys from ``allowed`` (None -> {}). Null values are dropped, so that a
        null value reads as an absent key. ``misplaced(k)`` may explain a rejected key."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, value, f"a mapping with keys among {', '.join(allowed)}")
        for k, v in value.items():
            if k not in allowed:
                self.fail(join_key(key, k), k, misplaced(k) or one_of(k, allowed))
        return {k: v for k, v in value.items() if v is not None}

    def required(self, key: str, data: dict, name: str, expected: str) -> object:
        if name not in data:
            self.fail(join_key(key, name), None, f"{expected} (required)")
        return data[name]

    def integer(self, key: str, value: object, low: int, high: int | None = None,
                expected: str | None = None) -> int:
        if expected is None:
            expected = (f"an integer in [{low}, {high}]" if high is not None
                        else "a non-negative integer" if low == 0 else f"an integer >= {low}")
        if not is_int(value) or value < low or (high is not None and value > high):
            self.fail(key, value, expected)
        return int(value)

    def number(self, key: str, value: object, low: float, high: float, low_open: bool = False) -> float:
        ok = is_number(value) and (low < value if low_open else low <= value) and value <= high
        if not ok:
            self.fail(key, value, f"a number in {'(' if low_open else '['}{low!r}, {high!r}]")
        return float(value)

    def range(self, key: str, value: object, low: float, high: float, *, integer: bool,
              scalar: bool = True, low_open: bool = False, strict: bool = False) -> tuple:
        """A number x (meaning [x, x]) or a [low, high] pair within bounds -> (low, high)."""
        unit = "integers" if integer else "numbers"
        head = f"{'an integer' if integer else 'a number'} or [low, high] {unit}" if scalar else f"[low, high] {unit}"
        expected = (f"{head} with {fmt(low, integer)} {'<' if low_open else '<='} low "
                    f"{'<' if strict else '<='} high <= {fmt(high, integer)}")
        pair = (value, value) if scalar and not isinstance(value, (list, tuple)) else value
        is_type = is_int if integer else is_number
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(is_type(x) for x in pair)
              and (low < pair[0] if low_open else low <= pair[0])
              and (pair[0] < pair[1] if strict else pair[0] <= pair[1]) and pair[1] <= high)
        if not ok:
            self.fail(key, value, expected)
        return (int(pair[0]), int(pair[1])) if integer else (float(pair[0]), float(pair[1]))

    def choice(self, key: str, value: object, choices: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in choices:
            self.fail(key, value, one_of(value, choices))
        return value

    def boolean(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def name(self, key: str, value: object) -> str:
        if not is_name(value):
            self.fail(key, value, NAME_TEXT)
        return value


def one_of(given: object, allowed: Sequence[str]) -> str:
    text = f"one of {', '.join(allowed)}"
    close = difflib.get_close_matches(str(given), list(allowed), n=1)
    return f"{text} (did you mean {close[0]!r}?)" if close else text


PATH_PROBLEM = {"missing": "does not exist", "file": "is not a directory", "dir": "is not a file",
            "other": "is neither a file nor a directory"}


def resolve_path(base: Path, text: str | os.PathLike) -> Path:
    """``text`` (a path, '~' expanded) resolved against ``base``, absolute; never raises."""
    try:
        return (base / Path(text).expanduser()).resolve()
    except (OSError, ValueError, RuntimeError):
        return Path(os.path.abspath(base / text))


def path_kind(path: Path) -> str:
    """'dir', 'file', 'other' or 'missing' (also for paths the OS cannot look at)."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else "other" if path.exists() else "missing"
    except (OSError, ValueError):
        return "missing"


def load_yaml(path: str | Path, root_key: str = "<root>") -> object:
    """The parsed content of the YAML file at ``path`` (duplicate keys rejected); RecipeError
    naming ``root_key``, the offending line and the problem otherwise."""
    text = _read_text(path, root_key)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        raise RecipeError(path, root_key, *_describe_yaml_error(err, text)) from None
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        raise RecipeError(path, root_key, None, f"valid YAML ({err})") from None


def _describe_yaml_error(err: yaml.MarkedYAMLError, text: str) -> tuple[str | None, str]:
    """(the offending line, 'valid YAML (line L, column C: problem, context at ...)')."""
    def at(mark) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    mark = err.problem_mark or err.context_mark
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else None
    detail = err.problem or ""
    if err.context:
        context_mark = err.context_mark
        elsewhere = context_mark is not None and at(context_mark) != at(mark)
        context_at = f" at {at(context_mark)}" if elsewhere else ""
        detail = f"{detail}, {err.context}{context_at}" if detail else err.context
    return line, f"valid YAML ({at(mark) + ': ' if mark is not None else ''}{detail})"


def _read_text(path: str | Path, root_key: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "it is a directory"
    except PermissionError:
        problem = "permission denied"
    except UnicodeDecodeError as err:
        problem = f"not UTF-8 text, byte {err.start}"
    except OSError as err:
        problem = err.strerror or str(err)
    raise RecipeError(path, root_key, str(path), f"a readable recipe file ({problem})")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's when available) that rejects duplicate keys in a mapping instead of
    keeping the last one."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_unique_mapping)


# --------------------------------------------------------------------------------------------
# A reference docstring that shows the defaults it documents

def _yaml_value(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, list):
        return "[" + ", ".join(map(_yaml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def show_defaults(doc: str, defaults: Mapping) -> str:
    """``key: {a.b}  # comment`` -> ``key: <defaults[a][b]>`` with the comment at column 36
    (any depth of dotted path)."""
    def show(match: re.Match) -> str:
        value = defaults
        for part in match[2].split("."):
            value = value[part]
        head = f"{match[1]}{_yaml_value(value)}"
        return f"{head:<35} {match[3]}" if match[3] else head

    return re.sub(r"^( *\w+: )\{(\w+(?:\.\w+)+)\} *(#.*)?$", show, doc, flags=re.M)
