"""A database error never carries a statement's values (issue 11, finding 6): the
start with a too-long FIRST_ADMIN_EMAIL logged a traceback with the admin's
password hash among the SQL parameters."""

import uuid

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


def test_a_failed_statement_names_no_parameter_values(engine: Engine) -> None:
    password_hash = f"$argon2id$v=19$m=65536,t=3,p=4${uuid.uuid4().hex}"
    # Fails after binding: no such column, whatever the database.
    statement = text("UPDATE users SET no_such_column = :password_hash WHERE id = :user_id")

    with pytest.raises(DBAPIError) as failed, engine.begin() as connection:
        connection.execute(statement, {"password_hash": password_hash, "user_id": "01J0ZZZZZZZZZZZZZZZZZZZZZZ"})

    assert password_hash not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
