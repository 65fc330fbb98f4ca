"""SQL functions that are spelled differently on SQLite and MySQL/MariaDB."""

from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction


class json_array_agg(GenericFunction[str]):  # noqa: N801 - SQL function names are lower case
    """Aggregates its argument's values into one JSON array (text); NULL or
    ``[]`` over no rows, depending on the database."""

    type = Text()
    inherit_cache = True


@compiles(json_array_agg)
def _json_group_array(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "mysql")
@compiles(json_array_agg, "mariadb")
def _json_arrayagg(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"JSON_ARRAYAGG({compiler.process(element.clauses, **kw)})"
