"""API keys must fit in a DSN that every official Sentry SDK accepts."""

import re

from pulsekit.keys import generate_key

# @sentry/core's DSN_REGEX: the public key is `\w+`; a key with '-' makes the JavaScript SDKs drop every event.
SENTRY_JS_DSN = re.compile(r'^(?:(\w+):)//(?:(\w+)(?::(\w+)?)?@)([\w.-]+)(?::(\d+))?/(.+)')


def test_generated_keys_fit_in_a_dsn_the_javascript_sdks_accept():
    keys = {generate_key() for _ in range(2000)}
    assert len(keys) == 2000
    for key in keys:
        assert re.fullmatch(r'pk_[A-Za-z0-9]{32}', key)
        match = SENTRY_JS_DSN.match(f'http://{key}@127.0.0.1:4000/3')
        assert match and match.group(2) == key
