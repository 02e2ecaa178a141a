"""Named SQL statements, read from the `.sql` files of this package.

A file holds statements one after another, each headed by its name and a one-line purpose:

    -- name: store_applied
    -- Notifications applied (a batch: one row per array element); their ids.
    INSERT INTO webhook_notifications ...

Parameters are written `:name` (not inside a string literal or a comment; a `::type` cast is
not one) and compiled once, when the file is read, into asyncpg's `$1, $2, ...`; callers pass
them by name, and a name missing or left over is an error before anything reaches PostgreSQL.

Each compiled statement begins with its name as a comment, `/* store_applied */ INSERT ...`, so
that what PostgreSQL shows (pg_stat_activity, pg_stat_statements, its logs) and the traces' spans
(`services/shared/tracing_sdk.py`) name it.

The column lists several statements read a record from (and the few other fragments they
share, such as the attempts a statement logs) are named in `columns.sql` and written `{name}`
where used.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"^-- name: (\w+)\n-- (.+)\n", re.MULTILINE)
_COLUMNS_USE = re.compile(r"\{(\w+)\}")
# A parameter, or what may look like one but is not: a string literal, a comment, a cast.
_PARAMETER = re.compile(r"'(?:[^']|'')*'|--[^\n]*|::|(?<![:\w]):(\w+)")


@dataclass(frozen=True)
class Query:
    name: str
    purpose: str
    sql: str  # with $1, $2, ...
    parameters: tuple[str, ...]  # the name of $1, $2, ...

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        if len(values) != len(self.parameters) or not all(name in values for name in self.parameters):
            raise TypeError(f"query {self.name} takes {sorted(self.parameters)}, not {sorted(values)}")
        return [values[name] for name in self.parameters]


def compile_query(name: str, purpose: str, text: str) -> Query:
    parameters: list[str] = []

    def number(match: re.Match[str]) -> str:
        parameter = match.group(1)
        if parameter is None:
            return match.group(0)
        if parameter not in parameters:
            parameters.append(parameter)
        return f"${parameters.index(parameter) + 1}"

    sql = _PARAMETER.sub(number, text.strip().rstrip(";").strip())
    return Query(name, purpose, f"/* {name} */ {sql}", tuple(parameters))


def _named_parts(path: Path, text: str) -> list[tuple[str, str, str]]:
    """The (name, purpose, text) of each part of a file, in order."""
    headers = list(_HEADER.finditer(text))
    if not headers or text[: headers[0].start()].strip():
        raise ValueError(f"{path}: every statement needs a '-- name:' and a purpose line")
    return [
        (header.group(1), header.group(2), text[header.end() : following.start() if following else len(text)])
        for header, following in zip(headers, [*headers[1:], None], strict=True)
    ]


_COLUMNS_PATH = Path(__file__).with_name("columns.sql")
_COLUMNS = {name: body.strip() for name, _, body in _named_parts(_COLUMNS_PATH, _COLUMNS_PATH.read_text())}


def _with_columns(path: Path, text: str) -> str:
    def columns(match: re.Match[str]) -> str:
        try:
            return _COLUMNS[match.group(1)]
        except KeyError:
            raise ValueError(f"{path}: no column list named {match.group(1)} in columns.sql") from None

    return _COLUMNS_USE.sub(columns, text)


class Queries:
    """The statements of one file, as attributes: `SQL.insert_outbound`."""

    def __init__(self, filename: str) -> None:
        self.path = Path(__file__).with_name(filename)
        self._queries: dict[str, Query] = {}
        for name, purpose, text in _named_parts(self.path, _with_columns(self.path, self.path.read_text())):
            if name in self._queries:
                raise ValueError(f"{self.path}: two statements named {name}")
            self._queries[name] = compile_query(name, purpose, text)

    def __getattr__(self, name: str) -> Query:
        try:
            return self.__dict__["_queries"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(f"{self.path.name} has no statement named {name}") from None

    def __iter__(self) -> Any:
        return iter(self._queries.values())
