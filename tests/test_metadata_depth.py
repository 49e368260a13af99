"""metadata nesting: the fast depth check agrees with the plain definition on every shape."""

import random

import pytest

from pulsekit.events.schema import MAX_METADATA_DEPTH, _depth


def reference_depth(value, level=1) -> int:
    """Levels of `value`, a scalar counting as one (the protocol's definition)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return max((reference_depth(v, level + 1) for v in value), default=level)
    return level


def nested(levels: int, leaf=1):
    value = leaf
    for i in range(levels - 1):
        value = {'k': value} if i % 2 else [value]
    return value


CASES = (
    [nested(n) for n in range(1, 14)] + [nested(n, leaf={}) for n in range(8, 13)] + [nested(n, []) for n in (10, 11)]
)


@pytest.mark.parametrize('value', CASES)
def test_depth_check_matches_the_definition(value):
    assert _depth(value, MAX_METADATA_DEPTH) == (reference_depth(value) > MAX_METADATA_DEPTH)


def test_depth_check_matches_the_definition_on_random_shapes():
    rng = random.Random(7)

    def shape(level):
        if level > 13 or rng.random() < 0.3:
            return rng.choice([1, 'x', None, {}, []])
        children = [shape(level + 1) for _ in range(rng.randint(0, 3))]
        return {str(i): c for i, c in enumerate(children)} if rng.random() < 0.5 else children

    for _ in range(2000):
        value = {'root': shape(2)}
        assert _depth(value, MAX_METADATA_DEPTH) == (reference_depth(value) > MAX_METADATA_DEPTH)
