"""Per-project tag key settings: keys hidden from the facets (noisy ones) and keys pinned first."""

VERSION = 9
NAME = 'tag_keys'


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE tag_keys (
            project_id {d.ref} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            key VARCHAR(64) NOT NULL,
            is_hidden BOOLEAN NOT NULL DEFAULT {d.bool_false},
            is_pinned BOOLEAN NOT NULL DEFAULT {d.bool_false},
            PRIMARY KEY (project_id, key))"""
    )
