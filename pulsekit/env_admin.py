"""The first-run admin from the environment (PULSEKIT_ADMIN_EMAIL + PULSEKIT_ADMIN_PASSWORD).

A container can then be set up without opening the first-run page. The variables only ever
create the first user: once any user exists they are ignored, so leaving them set (or changing
the password in the dashboard later) never overwrites anything.
"""

from __future__ import annotations

import logging

from .config import ConfigError, Settings
from .db import migrate, open_database
from .errors import Conflict, InvalidField
from .models import User
from .users import create_first_admin

log = logging.getLogger(__name__)

_VARIABLES = {'email': 'PULSEKIT_ADMIN_EMAIL', 'password': 'PULSEKIT_ADMIN_PASSWORD'}


def ensure_env_admin(settings: Settings) -> User | None:
    """Create the admin the settings name when the instance has no user yet; the new user, else None."""
    if not settings.admin_email or not settings.admin_password:
        return None
    try:
        user = create_first_admin(settings.admin_email, settings.admin_password)
    except Conflict:
        log.info('PULSEKIT_ADMIN_EMAIL ignored: the instance has users already')
        return None
    except InvalidField as exc:
        raise ConfigError(f'{_VARIABLES.get(exc.field, "PULSEKIT_ADMIN_EMAIL")}: {exc.message}') from None
    log.info('created the first admin %s from PULSEKIT_ADMIN_EMAIL', user.email)
    return user


def create_env_admin(settings: Settings) -> User | None:
    """`ensure_env_admin` on its own (migrated) connection, for start-up before the services exist."""
    if not settings.admin_email:
        return None
    db = open_database(settings)
    try:
        with db.connection_context():
            migrate(db)
            return ensure_env_admin(settings)
    finally:
        db.close()
