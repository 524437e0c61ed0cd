"""SqlAccountStore holds to the AccountStore port on both backends: misses come back as None,
names match in any case, times come back zone-aware in UTC, and the writes that go together
(a sign-in and its sweep, a change and the sessions it ends) share one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assetloom.accounts.base import AccountStore
from assetloom.store.accounts import SqlAccountStore
from assetloom.store.catalog import SqlCatalog

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _store(catalog: SqlCatalog) -> SqlAccountStore:
    return SqlAccountStore(catalog.read_session, catalog.write_session)


def test_users_tokens_and_misses(catalog: SqlCatalog) -> None:
    store = _store(catalog)
    assert isinstance(store, AccountStore)
    assert not store.has_users() and store.user("Ada") is None
    ada = store.add_user("Ada", "admin", "hash", T0)
    assert ada is not None and (ada.name, ada.role, ada.created_at) == ("Ada", "admin", T0)
    assert ada.created_at.tzinfo is not None
    assert store.add_user("ADA", "viewer", None, T0) is None  # one name, any case
    assert store.user("aDa") == ada and store.has_users()

    token = store.add_token("ada", label="ci", prefix="alt_x", token_hash=b"h" * 32, created_at=T0)
    assert token is not None and token.user == "Ada"
    assert store.add_token("nobody", label="", prefix="", token_hash=b"", created_at=T0) is None
    assert store.tokens() == [token] == store.tokens("ADA")
    assert store.tokens("nobody") is None
    assert store.token_holder(b"h" * 32) == (token, ada)
    assert store.token_holder(b"x" * 32) is None

    store.touch_token(token.id, T0 + timedelta(minutes=1))
    touched = store.tokens()
    assert touched is not None and touched[0].last_used_at == T0 + timedelta(minutes=1)
    assert store.revoke_token(token.id, owner="bob", at=T0) is None  # not bob's
    revoked = store.revoke_token(token.id, owner="ADA", at=T0 + timedelta(hours=1))
    assert revoked is not None and revoked.revoked_at == T0 + timedelta(hours=1)
    again = store.revoke_token(token.id, owner=None, at=T0 + timedelta(hours=2))
    assert again is not None and again.revoked_at == T0 + timedelta(hours=1)  # kept
    assert store.revoke_token(token.id + 1, owner=None, at=T0) is None


def test_sessions_end_with_changes_and_expire_on_sign_in(catalog: SqlCatalog) -> None:
    store = _store(catalog)
    ada = store.add_user("ada", "editor", "hash", T0)
    assert ada is not None
    store.add_session(
        id_hash=b"a" * 32,
        user_id=ada.id,
        csrf_token="csrf",
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
        client="test",
    )
    found = store.session_holder(b"a" * 32)
    assert found is not None and found[0].csrf_token == "csrf" and found[1] == ada
    assert found[0].expires_at == T0 + timedelta(hours=1)

    # A sign-in after the first session expired sweeps it.
    store.add_session(
        id_hash=b"b" * 32,
        user_id=ada.id,
        csrf_token="csrf2",
        created_at=T0 + timedelta(hours=2),
        expires_at=T0 + timedelta(hours=3),
        client="test",
    )
    assert store.session_holder(b"a" * 32) is None
    assert store.session_holder(b"b" * 32) is not None

    kept = store.update_user(
        "ADA", role="viewer", password_hash=None, disabled=None, end_sessions=False
    )
    assert kept is not None and kept.role == "viewer" and kept.password_hash == "hash"
    assert store.session_holder(b"b" * 32) is not None
    ended = store.update_user(
        "ada", role=None, password_hash=None, disabled=True, end_sessions=True
    )
    assert ended is not None and ended.disabled
    assert store.session_holder(b"b" * 32) is None
    assert (
        store.update_user("bob", role=None, password_hash=None, disabled=True, end_sessions=True)
        is None
    )

    store.add_session(
        id_hash=b"c" * 32,
        user_id=ada.id,
        csrf_token="csrf3",
        created_at=T0 + timedelta(hours=4),
        expires_at=T0 + timedelta(hours=5),
        client="test",
    )
    store.end_session(b"c" * 32)
    assert store.session_holder(b"c" * 32) is None


def test_audit_log_pages_newest_first(catalog: SqlCatalog) -> None:
    store = _store(catalog)
    for i in range(5):
        store.add_audit(
            at=T0 + timedelta(seconds=i),
            actor="ada" if i % 2 else "bob",
            action="asset.delete",
            target=f"asset{i}",
            outcome="ok",
            client="127.0.0.1",
            request_id=f"r{i}",
            detail={"i": i},
        )
    total, page = store.audit_log(limit=2, offset=1)
    assert total == 5 and [e.target for e in page] == ["asset3", "asset2"]
    assert page[0].at == T0 + timedelta(seconds=3) and page[0].detail == {"i": 3}
    total, page = store.audit_log(limit=10, offset=0, actor="ada")
    assert total == 2 and [e.target for e in page] == ["asset3", "asset1"]
