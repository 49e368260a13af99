// The conformance comparison rules (sdks/conformance/README.md) in JavaScript: ignore, optional, tail_match.

function pathMatches(pattern, path) {
  const source = pattern.replace(/[.[\]]/g, (c) => `\\${c}`).replace(/\\\[\*\\\]/g, '\\[\\d+\\]');
  return new RegExp(`^${source}$`).test(path);
}

function matchesAny(patterns, path) {
  return patterns.some((pattern) => pathMatches(pattern, path));
}

/** Compares `actual` with `expected`; returns a list of differences (empty when they match). */
export function wireDiff(expected, actual, rules, path = '') {
  const { ignore = [], optional = [], tail_match = [] } = rules;
  const diffs = [];
  if (path && matchesAny(tail_match, path)) {
    if (!Array.isArray(actual) || actual.length < expected.length) return [`${path}: expected at least ${expected.length} frames`];
    // The last expected frame is the last actual one; earlier expected frames appear in order before it.
    let cursor = actual.length - 1;
    for (let i = expected.length - 1; i >= 0; i--) {
      const want = expected[i];
      const fits = (frame) => Object.entries(want).every(([key, value]) => frame?.[key] === value);
      if (i === expected.length - 1) {
        if (!fits(actual[cursor])) diffs.push(`${path}: last frame ${JSON.stringify(actual[cursor])} is not ${JSON.stringify(want)}`);
        cursor--;
        continue;
      }
      while (cursor >= 0 && !fits(actual[cursor])) cursor--;
      if (cursor < 0) diffs.push(`${path}: no frame ${JSON.stringify(want)} before the later ones`);
      cursor--;
    }
    return diffs;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`];
    expected.forEach((item, i) => diffs.push(...wireDiff(item, actual[i], rules, `${path}[${i}]`)));
    return diffs;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: not an object`];
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const child = path ? `${path}.${key}` : key;
      if (matchesAny(ignore, child)) {
        if (!(key in actual)) diffs.push(`${child}: missing`);
        continue;
      }
      if (matchesAny(optional, child)) continue;
      if (!(key in expected)) diffs.push(`${child}: unexpected ${JSON.stringify(actual[key])}`);
      else if (!(key in actual)) diffs.push(`${child}: missing`);
      else diffs.push(...wireDiff(expected[key], actual[key], rules, child));
    }
    return diffs;
  }
  return expected === actual ? [] : [`${path}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`];
}
