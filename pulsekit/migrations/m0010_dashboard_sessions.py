"""Dashboard sessions in the database, so every replica on one PostgreSQL database knows a login (and a
logout) made on another; the session cookie carries only the session's id, this table its user."""

VERSION = 10
NAME = 'dashboard_sessions'


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE dashboard_sessions (
            id VARCHAR(64) PRIMARY KEY,
            user_id {d.ref} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            stamp VARCHAR(32) NOT NULL,
            inserted_at {d.bigint} NOT NULL)"""
    )
    db.execute_sql('CREATE INDEX dashboard_sessions_user_id ON dashboard_sessions (user_id)')
