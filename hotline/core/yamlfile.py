"""YAML files that people edit by hand, read so that every problem names its file, line and field.

A bad file must say exactly where it is wrong, and all at once: `covid.yaml:42: queues[3].strategy:
field required`, one line per problem. PyYAML's composer keeps each node's position; the document
is turned into plain data while a map from each path (`("queues", 3, "strategy")`) to its line is
kept, and a `Report` collects the problems a loader finds against those paths. Scalars follow YAML
1.2's core schema: `22:00` is text, not the YAML 1.1 base-60 number 1320, `no` is text, not false,
and `012` is twelve, not octal ten. Used by the configuration and IVR flow loaders."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hotline.core.errors import InvalidConfiguration

Loc = tuple[str | int, ...]
"""A path into a document: `("queues", 3, "strategy")`."""

DuplicateMessage = Callable[[Loc, int], str]
"""What to say about a key written twice in one mapping, given the key's path and first line."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file (or, as a warning, questionable in it)."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A document as plain data (mapping keys as text), the line where each of its paths starts,
    and the problems found while reading it (keys written twice, an alias that contains itself)."""

    data: Any
    lines: dict[Loc, int]
    problems: list[Problem] = field(default_factory=list)


def format_path(path: Iterable[str | int]) -> str:
    """("queues", 3, "strategy") -> "queues[3].strategy"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'medical'?" when one of `choices` is close to `word`, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def invalid(filename: str, problems: Sequence[Problem]) -> InvalidConfiguration:
    """The catalogued error for a file's problems: one line each, and each as structured data."""
    return InvalidConfiguration(
        "\n".join(str(p) for p in problems),
        file=filename,
        problems=[asdict(p) for p in problems],
    )


def read_file(path: Path) -> str:
    """A file's UTF-8 text; `InvalidConfiguration` (not a traceback) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise invalid(str(path), [Problem(str(path), None, "", f"cannot read: {reason}")]) from exc


def _duplicate_key(path: Loc, first_line: int) -> str:
    return f"duplicate key (first at line {first_line})"


def read_yaml(
    text: str,
    *,
    filename: str,
    duplicate: DuplicateMessage = _duplicate_key,
    keys_as_written: bool = False,
) -> YamlDocument:
    """Read YAML text with the line of every path in it. Text that is not YAML raises
    `InvalidConfiguration` naming the line; a key written twice in a mapping is a problem of the
    document (a silent overwrite would hide a mistake), described by `duplicate`. With
    `keys_as_written`, keys are names kept as typed (`true:` is 'true', `012:` is '012'), and a
    key that is a list or a mapping is a problem. `filename` is only used in messages."""
    try:
        return _read(text, filename, duplicate, keys_as_written)
    except yaml.YAMLError as exc:
        raise invalid(filename, [_yaml_problem(filename, exc)]) from exc


def shipped_names(folder: Traversable) -> list[str]:
    """The names of the YAML files shipped in a package folder (`covid` for `covid.yaml`)."""
    return sorted(
        Path(entry.name).stem for entry in folder.iterdir() if entry.name.endswith(".yaml")
    )


def shipped_path(folder: Traversable, name: str, *, what: str = "template") -> Path:
    """The path of the YAML file `name` shipped in a package folder; `InvalidConfiguration`
    listing the shipped ones when there is none by that name."""
    names = shipped_names(folder)
    if name not in names:
        raise InvalidConfiguration(
            f"no {what} {name!r}; templates: {', '.join(names)}", template=name
        )
    return Path(str(folder.joinpath(f"{name}.yaml")))


# ---- collecting problems ----


Describe = Callable[[ErrorDetails], tuple[Loc, str]]
"""Where in the file a pydantic error belongs, and what to say about it."""


class Report:
    """The problems (and warnings) found in one file, each placed on its line by its path."""

    def __init__(
        self, filename: str, lines: dict[Loc, int], problems: Iterable[Problem] = ()
    ) -> None:
        self.filename = filename
        self.lines = lines
        self.problems = list(problems)
        self.warnings: list[Problem] = []

    def line_of(self, path: Loc) -> int | None:
        """The line of `path`, or of its nearest ancestor present in the file (for a missing
        field, the record that lacks it)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def problem(self, path: Loc, message: str) -> Problem:
        return Problem(self.filename, self.line_of(path), format_path(path), message)

    def add(self, path: Loc, message: str) -> None:
        self.problems.append(self.problem(path, message))

    def warn(self, path: Loc, message: str) -> None:
        self.warnings.append(self.problem(path, message))

    def add_pydantic(self, exc: ValidationError, describe: Describe) -> None:
        for error in exc.errors(include_url=False):
            self.add(*describe(error))

    def error(self) -> InvalidConfiguration:
        """Every problem once, in the order of the file."""
        unique = {(p.line or 0, p.path, p.message): p for p in self.problems}
        return invalid(self.filename, [unique[key] for key in sorted(unique)])


def error_message(
    kind: str, message: str, path: Loc, fields_at: Callable[[Loc], Sequence[str]]
) -> str:
    """What a problem line says for a pydantic error of type `kind` at `path`: "field required";
    for an unknown field, the closest of the fields `fields_at(record path)` lists; otherwise
    pydantic's message, without its "Value error, " prefix and with a lower-case first word."""
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        allowed = fields_at(path[:-1])
        hint = did_you_mean(str(path[-1]), allowed)
        return f"unknown field{hint}" if hint else f"unknown field (fields: {', '.join(allowed)})"
    message = message.removeprefix("Value error, ")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message


# ---- YAML with positions ----


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars: no base-60 numbers, only true/false as booleans."""


_BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float"))
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    assert isinstance(node, ScalarNode)
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


_Loader.add_constructor(_INT, _construct_int)


def _read(
    text: str, filename: str, duplicate: DuplicateMessage, keys_as_written: bool
) -> YamlDocument:
    loader = _Loader(text)
    lines: dict[Loc, int] = {(): 1}
    problems: list[Problem] = []
    inside: set[int] = set()  # nodes being walked, to stop on an alias that contains itself

    def walk(node: Node, path: Loc) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in inside:
            problems.append(
                Problem(filename, lines[path], format_path(path), "an alias contains itself")
            )
            return None
        inside.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return walk_mapping(node, path)
            if isinstance(node, SequenceNode):
                return [walk(item, (*path, index)) for index, item in enumerate(node.value)]
            assert isinstance(node, ScalarNode)
            return loader.construct_object(node, deep=True)
        finally:
            inside.discard(id(node))

    def walk_mapping(node: MappingNode, path: Loc) -> dict[str, Any]:
        # Resolve `<<: *defaults` merge keys. Merged entries come first and may be overridden by a
        # key written in the mapping itself; only a key written twice is a mistake.
        written = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if keys_as_written:
                if not isinstance(key_node, ScalarNode):
                    message = "keys must be plain text"
                    problems.append(Problem(filename, key_line, format_path(path), message))
                    continue
                key = str(key_node.value)
            else:
                key = str(loader.construct_object(key_node, deep=True))
            if key in first_line:  # written twice in this mapping
                where = (*path, key)
                message = duplicate(where, first_line[key])
                problems.append(Problem(filename, key_line, format_path(where), message))
                continue
            if id(key_node) in written:
                first_line[key] = key_line
            lines[(*path, key)] = key_line
            result[key] = walk(value_node, (*path, key))
        return result

    try:
        root = loader.get_single_node()
        data = None if root is None else walk(root, ())
        return YamlDocument(data, lines, problems)
    finally:
        loader.dispose()


def _yaml_problem(filename: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} at line {context_mark.line + 1})"
    elif context:
        problem += f" ({context})"
    line = mark.line + 1 if mark is not None else None
    return Problem(filename, line, "", f"not valid YAML: {problem}")


# ---- comparing versions ----


def unified_diff(old: str, new: str, *, old_name: str, new_name: str) -> str:
    """What changes from `old` to `new` as a unified diff (three lines of context), "" when
    nothing does: what an administrator reads before publishing a draft over the live text."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_name,
        tofile=new_name,
    )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)
