import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStack } from '../dist/esm/node.js';
import { STACKS } from './fixtures/stacks.mjs';

/** The fields a fixture names, from each parsed frame (abs_path only where the fixture gives it). */
function comparable(frames, expected) {
  return frames.map((frame, index) => Object.fromEntries(Object.keys(expected[index] ?? frame).map((key) => [key, frame[key]])));
}

for (const [name, { stack, frames }] of Object.entries(STACKS)) {
  test(`parses a captured ${name.replace(/_/g, ' ')} stack into frames, oldest first`, () => {
    const parsed = parseStack(stack);
    assert.equal(parsed.length, frames.length, JSON.stringify(parsed, null, 1));
    assert.deepEqual(comparable(parsed, frames), frames);
  });
}

test('a live error of this runtime parses with the failing function last and in_app set', () => {
  function innermost() {
    throw new Error('boom');
  }
  function outer() {
    innermost();
  }
  let stack;
  try {
    outer();
  } catch (error) {
    stack = error.stack;
  }
  const frames = parseStack(stack);
  assert.deepEqual(frames.slice(-2).map((frame) => [frame.function, frame.in_app]), [['outer', true], ['innermost', true]]);
  assert.match(frames.at(-1).filename, /stacktrace\.test\.mjs$/);
  assert.ok(frames.at(-1).lineno > 0 && frames.at(-1).colno > 0);
});

test('messages, blank lines and junk are not frames', () => {
  assert.deepEqual(parseStack('Error: something failed: at 10:20\n\n   \nnot a frame'), []);
  assert.deepEqual(parseStack(undefined), []);
  assert.deepEqual(parseStack(42), []);
});
