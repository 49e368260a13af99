"""PLACEHOLDER, to be deleted at merge: version 7 belongs to another branch (hardening work). It only
keeps this branch's versions gap-free so m0008/m0009 apply in tests; with the real m0007 merged,
`all_migrations()` refuses two version-7 modules until this file is removed."""

VERSION = 7
NAME = 'reserved'


def up(db, d):
    pass
