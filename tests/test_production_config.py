"""Production start-up: the secret it refuses, the first-run admin from the environment, PHX_HOST."""

import pytest

from pulsekit.auth import authenticate
from pulsekit.config import ConfigError, Settings, check_secret_key_base, load_settings
from pulsekit.db import open_database
from pulsekit.env_admin import create_env_admin
from pulsekit.models import User
from pulsekit.users import change_password

STRONG = 'q7V2mZ0rXc9LkP4sTn8BwY1eHa6JdF3g'


@pytest.mark.parametrize(
    ('secret', 'message'),
    [
        (None, 'SECRET_KEY_BASE is not set'),
        ('', 'SECRET_KEY_BASE is not set'),
        ('short-but-random-9$', 'SECRET_KEY_BASE is too weak (19 characters'),
        ('a' * 64, 'SECRET_KEY_BASE is too weak (64 characters, 1 distinct'),
        ('1234567812345678123456781234567812345678', 'SECRET_KEY_BASE is too weak'),
    ],
)
def test_production_refuses_a_missing_or_weak_secret(secret, message):
    env = {'PULSEKIT_ENV': 'production', **({'SECRET_KEY_BASE': secret} if secret is not None else {})}
    settings = load_settings(env)  # commands other than `serve` need no secret
    with pytest.raises(ConfigError, match='openssl rand') as info:
        check_secret_key_base(settings)
    assert message in str(info.value)


def test_production_accepts_a_strong_secret_and_development_needs_none():
    strong = load_settings({'PULSEKIT_ENV': 'production', 'SECRET_KEY_BASE': STRONG})
    assert strong.environment == 'production'
    check_secret_key_base(strong)
    assert load_settings({}).environment == 'development'
    check_secret_key_base(load_settings({'SECRET_KEY_BASE': 'weak'}))  # only production insists


def test_an_unknown_environment_name_is_an_error():
    with pytest.raises(ConfigError, match='PULSEKIT_ENV'):
        load_settings({'PULSEKIT_ENV': 'prod'})


@pytest.mark.parametrize(
    ('env', 'base_url'),
    [
        ({'PHX_HOST': 'errors.example.com'}, 'https://errors.example.com'),
        ({'PHX_HOST': 'http://10.0.0.5:4000'}, 'http://10.0.0.5:4000'),
        ({'PHX_HOST': 'old.example.com', 'PULSEKIT_BASE_URL': 'https://new.example.com'}, 'https://new.example.com'),
        ({}, None),
    ],
)
def test_phx_host_is_the_public_host_when_no_base_url_is_set(env, base_url):
    assert load_settings(env).base_url == base_url


def test_admin_email_without_password_is_an_error():
    with pytest.raises(ConfigError, match='PULSEKIT_ADMIN_EMAIL and PULSEKIT_ADMIN_PASSWORD'):
        load_settings({'PULSEKIT_ADMIN_EMAIL': 'ops@example.com'})


def test_the_admin_password_is_never_printed_with_the_settings():
    settings = load_settings({'PULSEKIT_ADMIN_EMAIL': 'ops@example.com', 'PULSEKIT_ADMIN_PASSWORD': 'hunter2hunter2'})
    assert 'hunter2hunter2' not in repr(settings)


def test_env_admin_is_created_once_and_never_overwrites(tmp_path):
    settings = Settings(data_dir=tmp_path, admin_email='Ops@Example.com', admin_password='first password')
    assert create_env_admin(settings).email == 'ops@example.com'
    db = open_database(settings)
    with db.connection_context():
        user = authenticate('ops@example.com', 'first password')
        assert user is not None and user.role == 'admin'
        change_password(user.id, 'first password', 'changed in the dashboard')
    # A restart with the variables still set (or set to something else) changes nothing.
    again = Settings(data_dir=tmp_path, admin_email='other@example.com', admin_password='another password')
    assert create_env_admin(again) is None
    db = open_database(settings)
    with db.connection_context():
        assert [u.email for u in User.select()] == ['ops@example.com']
        assert authenticate('ops@example.com', 'changed in the dashboard') is not None


@pytest.mark.parametrize(
    ('email', 'password', 'variable'),
    [
        ('ops@example.com', 'short', 'PULSEKIT_ADMIN_PASSWORD'),
        ('not-an-email', 'long enough pw', 'PULSEKIT_ADMIN_EMAIL'),
    ],
)
def test_an_unusable_env_admin_stops_start_up_naming_the_variable(tmp_path, email, password, variable):
    with pytest.raises(ConfigError, match=variable):
        create_env_admin(Settings(data_dir=tmp_path, admin_email=email, admin_password=password))
