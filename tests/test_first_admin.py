"""The one-time setup form cannot create two admins, even when submitted twice at once."""

import threading

from pulsekit.db import migrate, open_database
from pulsekit.errors import Conflict
from pulsekit.models import User
from pulsekit.users import create_first_admin


def test_concurrent_setups_create_exactly_one_admin(settings):
    db = open_database(settings)
    with db.connection_context():
        migrate(db)
    results: list[object] = []
    start = threading.Barrier(4)

    def setup(n: int) -> None:
        start.wait()
        with db.connection_context():  # each thread its own connection, as request threads have
            try:
                results.append(create_first_admin(f'admin{n}@example.com', 'correct horse battery'))
            except Conflict as exc:
                results.append(exc)

    threads = [threading.Thread(target=setup, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(isinstance(r, User) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3
    with db.connection_context():
        assert User.select().count() == 1
