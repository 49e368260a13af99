"""Labels on issues (the plan's 2.3): per-project labels with a colour, and which issues carry them."""

VERSION = 8
NAME = 'issue_labels'


def up(db, d):
    db.execute_sql(
        f"""CREATE TABLE labels (
            id {d.pk},
            project_id {d.ref} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            name VARCHAR(40) NOT NULL,
            color VARCHAR(7) NOT NULL,
            inserted_at {d.bigint} NOT NULL)"""
    )
    db.execute_sql('CREATE UNIQUE INDEX labels_project_id_name ON labels (project_id, name)')
    db.execute_sql(
        f"""CREATE TABLE issue_labels (
            issue_id {d.ref} NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
            label_id {d.ref} NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
            PRIMARY KEY (issue_id, label_id))"""
    )
    db.execute_sql('CREATE INDEX issue_labels_label_id ON issue_labels (label_id)')
