"""Alert evaluation state: how far the new-error and pattern evaluators got (an event seq), so
events committed just before a crash are evaluated after the restart instead of being missed."""

VERSION = 4
NAME = 'alert_state'


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE alert_state (
            key VARCHAR(64) NOT NULL PRIMARY KEY,
            value {d.bigint} NOT NULL)"""
    )
