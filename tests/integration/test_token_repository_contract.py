"""The contract of the revoked-token and personal-token repositories (and the
caller lookups that fold them into one read), on the fakes, SQLite and MariaDB."""

from datetime import UTC, datetime, timedelta

from tests.integration import test_user_repository_contract as user_contract
from tests.integration.test_user_repository_contract import NewUnitOfWork, add, make_user, new_id
from user.domain.personal_token import PersonalToken, personal_token_hash
from user.domain.user import User

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# The same units of work as the user contract: the fakes, SQLite and MariaDB.
new_uow = user_contract.new_uow


def revoke(new_uow: NewUnitOfWork, user: User, *, token_id: str, expires_at: datetime) -> None:
    with new_uow() as uow:
        uow.revoked_tokens.add(token_id=token_id, user_id=user.id, expires_at=expires_at)
        uow.commit()


def make_token(user: User, *, created_at: datetime = NOW, **fields: object) -> PersonalToken:
    values: dict = {
        "id": new_id(),
        "user_id": user.id,
        "name": "backup script",
        "token_hash": personal_token_hash(f"til_pat_{new_id()}"),
        "created_at": created_at,
    }
    values.update(fields)
    return PersonalToken(**values)


def add_token(new_uow: NewUnitOfWork, token: PersonalToken) -> None:
    with new_uow() as uow:
        uow.personal_tokens.add(token)
        uow.commit()


def test_a_user_is_found_unless_that_login_token_is_revoked(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    revoked, live = new_id(), new_id()
    revoke(new_uow, user, token_id=revoked, expires_at=NOW + timedelta(hours=1))

    with new_uow() as uow:
        assert uow.users.get_unless_revoked(user.id, token_id=revoked) is None
        found = uow.users.get_unless_revoked(user.id, token_id=live)
        assert found is not None
        assert found.id == user.id
        assert uow.users.get_unless_revoked(new_id(), token_id=live) is None


def test_revoking_twice_is_harmless(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    token_id = new_id()

    revoke(new_uow, user, token_id=token_id, expires_at=NOW + timedelta(hours=1))
    revoke(new_uow, user, token_id=token_id, expires_at=NOW + timedelta(hours=1))

    with new_uow() as uow:
        assert uow.users.get_unless_revoked(user.id, token_id=token_id) is None


def test_prune_forgets_only_the_revocations_of_expired_tokens(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    expired, live = new_id(), new_id()
    revoke(new_uow, user, token_id=expired, expires_at=NOW - timedelta(seconds=1))
    revoke(new_uow, user, token_id=live, expires_at=NOW + timedelta(seconds=1))

    with new_uow() as uow:
        assert uow.revoked_tokens.prune(now=NOW) >= 1
        uow.commit()

    with new_uow() as uow:
        assert uow.users.get_unless_revoked(user.id, token_id=expired) is not None
        assert uow.users.get_unless_revoked(user.id, token_id=live) is None


def test_bump_token_version_adds_one_and_says_whether_the_user_exists(new_uow: NewUnitOfWork) -> None:
    user = make_user(token_version=4)
    add(new_uow, user)

    with new_uow() as uow:
        assert uow.users.bump_token_version(user.id) is True
        assert uow.users.bump_token_version(new_id()) is False
        uow.commit()

    with new_uow() as uow:
        stored = uow.users.get(user.id)
    assert stored is not None
    assert stored.token_version == 5


def test_a_personal_token_reads_back_with_its_owner_by_hash(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    token = make_token(user, expires_at=NOW + timedelta(days=3), last_used_at=NOW - timedelta(minutes=5))
    add_token(new_uow, token)

    with new_uow() as uow:
        found = uow.personal_tokens.get_with_owner(token.token_hash)
        absent = uow.personal_tokens.get_with_owner(personal_token_hash("til_pat_unknown"))

    assert found is not None
    assert found[0] == token
    assert (found[1].id, found[1].email) == (user.id, user.email)
    assert absent is None


def test_tokens_are_listed_newest_first_and_counted_per_user(new_uow: NewUnitOfWork) -> None:
    user, other = make_user(), make_user()
    add(new_uow, user)
    add(new_uow, other)
    older = make_token(user, created_at=NOW - timedelta(days=1))
    newer = make_token(user, created_at=NOW)
    add_token(new_uow, older)
    add_token(new_uow, newer)
    add_token(new_uow, make_token(other))

    with new_uow() as uow:
        assert [t.id for t in uow.personal_tokens.list_for_user(user.id)] == [newer.id, older.id]
        assert uow.personal_tokens.count_for_user(user.id) == 2
        assert uow.personal_tokens.lock_owner(user.id) is True
        assert uow.personal_tokens.lock_owner(new_id()) is False


def test_delete_removes_only_the_owners_token(new_uow: NewUnitOfWork) -> None:
    user, other = make_user(), make_user()
    add(new_uow, user)
    add(new_uow, other)
    token = make_token(user)
    add_token(new_uow, token)

    with new_uow() as uow:
        assert uow.personal_tokens.delete(user_id=other.id, token_id=token.id) is False
        assert uow.personal_tokens.delete(user_id=user.id, token_id=new_id()) is False
        assert uow.personal_tokens.delete(user_id=user.id, token_id=token.id) is True
        uow.commit()

    with new_uow() as uow:
        assert uow.personal_tokens.get_with_owner(token.token_hash) is None


def test_touch_writes_last_used_only_when_it_is_older_than_the_bound(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    token = make_token(user)
    add_token(new_uow, token)

    def touch(now: datetime) -> datetime | None:
        with new_uow() as uow:
            uow.personal_tokens.touch(token.id, now=now, stale_before=now - timedelta(minutes=1))
            uow.commit()
        with new_uow() as uow:
            found = uow.personal_tokens.get_with_owner(token.token_hash)
        assert found is not None
        return found[0].last_used_at

    assert touch(NOW) == NOW  # never used: written
    assert touch(NOW + timedelta(seconds=59)) == NOW  # within the minute: kept
    assert touch(NOW + timedelta(seconds=61)) == NOW + timedelta(seconds=61)


def test_deleting_the_user_deletes_its_tokens_and_revocations(new_uow: NewUnitOfWork) -> None:
    user = make_user()
    add(new_uow, user)
    token = make_token(user)
    add_token(new_uow, token)
    revoked = new_id()
    revoke(new_uow, user, token_id=revoked, expires_at=NOW + timedelta(hours=1))

    with new_uow() as uow:
        uow.users.delete(user.id)
        uow.commit()

    with new_uow() as uow:
        assert uow.personal_tokens.get_with_owner(token.token_hash) is None
        assert uow.personal_tokens.count_for_user(user.id) == 0
    # The same id signing up again would not find the old revocation: it went with the account.
    add(new_uow, make_user(id=user.id))
    with new_uow() as uow:
        assert uow.users.get_unless_revoked(user.id, token_id=revoked) is not None
