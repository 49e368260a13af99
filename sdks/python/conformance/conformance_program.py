"""The Python SDK's conformance program: performs every vector's calls against a PulseKit server.

Contract (sdks/conformance/README.md): reads PULSEKIT_ENDPOINT, PULSEKIT_API_KEY and
PULSEKIT_VECTORS_DIR; for each vector prints one line {"vector": name, "ids": [...]} with the
ids that the captures returned, in call order; exits non-zero when a flush did not complete.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pulsekit_sdk

DEFAULT_VECTORS_DIR = Path(__file__).resolve().parents[2] / 'conformance' / 'vectors'
CAPTURE_CALLS = ('capture', 'capture_message', 'capture_exception')


def run_vector(vector: dict, flush_timeout_s: float, **init_overrides) -> tuple:
    """(ids returned by the captures, whether the final flush completed)."""
    options = {**vector['input'].get('init', {}), **init_overrides}
    pulsekit_sdk.init(**options)
    ids: list = []
    try:
        run_calls(vector['input']['calls'], ids)
        is_flushed = pulsekit_sdk.flush(flush_timeout_s)
    finally:
        pulsekit_sdk.close(0)
    return ids, is_flushed


def run_calls(calls: list, ids: list) -> None:
    for step in calls:
        name, args = step['call'], dict(step.get('args', {}))
        if name == 'scope':
            with pulsekit_sdk.scope(**args):
                run_calls(step.get('calls', []), ids)
        elif name == 'set_tag':
            pulsekit_sdk.set_tag(args['key'], args['value'])
        elif name == 'set_user':
            pulsekit_sdk.set_user(args['user'])
        elif name == 'set_context':
            pulsekit_sdk.set_context(args['key'], args['value'])
        elif name == 'capture_exception':
            error = args.pop('error')
            try:
                raise_error(error)
            except Exception as exc:
                ids.append(pulsekit_sdk.capture_exception(exc, **args))
        elif name in CAPTURE_CALLS:
            ids.append(getattr(pulsekit_sdk, name)(**args))
        else:
            raise ValueError(f'unknown call {name!r} in a vector')


def raise_error(spec: dict) -> None:
    """Raise spec's error from a function named spec['function'], caused by spec['cause'] if any."""
    named = types.FunctionType(_raise_spec.__code__.replace(co_name=spec['function']), globals(), spec['function'])
    named(spec)


def _raise_spec(spec: dict) -> None:
    # Runs under the vector's function name (see raise_error), so frames carry that name.
    error_type = type(spec['type'], (Exception,), {'__module__': 'conformance'})
    if spec.get('cause'):
        try:
            raise_error(spec['cause'])
        except Exception as cause:
            raise error_type(spec['message']) from cause
    raise error_type(spec['message'])


def main() -> int:
    vectors_dir = Path(os.environ.get('PULSEKIT_VECTORS_DIR') or DEFAULT_VECTORS_DIR)
    flush_timeout_s = float(os.environ.get('PULSEKIT_FLUSH_TIMEOUT_S', '30'))
    endpoint, api_key = os.environ['PULSEKIT_ENDPOINT'], os.environ['PULSEKIT_API_KEY']
    is_complete = True
    for path in sorted(vectors_dir.glob('*.json')):
        vector = json.loads(path.read_text(encoding='utf-8'))
        ids, is_flushed = run_vector(vector, flush_timeout_s, endpoint=endpoint, api_key=api_key)
        print(json.dumps({'vector': vector['name'], 'ids': ids, 'flushed': is_flushed}), flush=True)
        is_complete = is_complete and is_flushed
    return 0 if is_complete else 1


if __name__ == '__main__':
    sys.exit(main())
