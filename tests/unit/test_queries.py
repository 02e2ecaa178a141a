"""Named SQL statements (services/conversations/adapters/database/queries.py): parameters by name,
compiled once into asyncpg's positional ones; every file of the package loads."""

from pathlib import Path

import pytest

from services.conversations.adapters.database import queries
from services.conversations.adapters.database.queries import Queries, compile_query


def test_parameters_by_name_become_positional_once_each() -> None:
    query = compile_query("q", "purpose", "SELECT :a::int, :b, :a, x::text FROM t WHERE y = ':c' -- 12:30\n;")
    assert query.sql == "/* q */ SELECT $1::int, $2, $1, x::text FROM t WHERE y = ':c' -- 12:30"
    assert query.parameters == ("a", "b")
    assert query.arguments({"b": 2, "a": 1}) == [1, 2]


@pytest.mark.parametrize("given", [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 2}])
def test_a_parameter_missing_or_left_over_is_refused(given: dict[str, int]) -> None:
    query = compile_query("q", "purpose", "SELECT :a, :b")
    with pytest.raises(TypeError, match="query q takes"):
        query.arguments(given)


def test_every_statement_file_loads_with_a_name_and_a_purpose() -> None:
    files = sorted(Path(queries.__file__).parent.glob("*.sql"))
    assert files
    for path in files:
        loaded = list(Queries(path.name))
        assert loaded, path
        assert all(q.purpose and q.sql and not q.sql.endswith(";") for q in loaded)


def test_a_file_without_headers_or_with_a_name_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "__file__", str(tmp_path / "queries.py"))
    (tmp_path / "bare.sql").write_text("SELECT 1;\n")
    (tmp_path / "twice.sql").write_text("-- name: a\n-- one\nSELECT 1;\n-- name: a\n-- two\nSELECT 2;\n")
    with pytest.raises(ValueError, match="name"):
        Queries("bare.sql")
    with pytest.raises(ValueError, match="two statements named a"):
        Queries("twice.sql")
    (tmp_path / "one.sql").write_text("-- name: a\n-- one\nSELECT 1;\n")
    assert Queries("one.sql").a.sql == "/* a */ SELECT 1"
    with pytest.raises(AttributeError, match="no statement named b"):
        _ = Queries("one.sql").b


def test_a_column_list_is_written_into_the_statements_that_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "__file__", str(tmp_path / "queries.py"))
    (tmp_path / "uses.sql").write_text("-- name: a\n-- one\nSELECT {message_columns} FROM messages m;\n")
    sql = Queries("uses.sql").a.sql
    assert sql.startswith("/* a */ SELECT m.id, m.account_id,") and sql.endswith(
        "m.media::text AS media FROM messages m"
    )
    (tmp_path / "unknown.sql").write_text("-- name: a\n-- one\nSELECT {no_such_columns};\n")
    with pytest.raises(ValueError, match="no column list named no_such_columns"):
        Queries("unknown.sql")
