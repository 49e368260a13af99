"""Per-project allowed origins for browsers posting to the native ingest endpoints (CORS).

NULL means the default rule (any origin, for ingest-only keys); otherwise a JSON list of
origins such as ["https://shop.example.com"], or ["*"]."""

VERSION = 7
NAME = 'project_allowed_origins'


def up(db, d):
    db.execute_sql(f'ALTER TABLE projects ADD COLUMN allowed_origins {d.json}')
