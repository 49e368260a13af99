/**
 * Stack strings from the three JavaScript engines, parsed into protocol frames, oldest first.
 *
 * V8 (Node, Chrome, Edge):        "    at fn (file:12:5)", "    at file:12:5", "    at async fn (file:1:2)"
 * SpiderMonkey (Firefox):         "fn@file:12:5", "@file:12:5", "fn@file line 2 > eval:1:5"
 * JavaScriptCore (Safari, Bun):   "fn@file:12:5", "global code@file:1:1", "forEach@[native code]"
 * Engines list the newest call first; the protocol wants the failing frame last.
 */
import type { Frame } from './types.js';

const V8_FRAME = /^\s*at (?:(.+?) \((.*)\)|(.*))$/;
const LOCATION = /^(.*?):(\d+):(\d+)$/;
const LOCATION_LINE_ONLY = /^(.*?):(\d+)$/;
const GECKO_FRAME = /^\s*(.*?)@(.*)$/;
const GECKO_EVAL = / line (\d+) > (?:eval|Function)(?::\d+:\d+)?/;
// JavaScriptCore writes anonymous functions as a bare location: "https://host/app.js:1:471".
const BARE_LOCATION = /^\s*([^\s@]+:\d+:\d+)\s*$/;
const MAX_STACK_CHARS = 100_000;

/** Frames of `stack`, oldest first; lines that are not frames (the message, blank lines) are skipped. */
export function parseStack(stack: unknown): Frame[] {
  if (typeof stack !== 'string' || !stack) return [];
  const frames: Frame[] = [];
  for (const line of stack.slice(0, MAX_STACK_CHARS).split('\n')) {
    const frame = parseLine(line);
    if (frame) frames.push(frame);
  }
  return frames.reverse();
}

function parseLine(line: string): Frame | undefined {
  if (/^\s*at /.test(line)) return parseV8(line);
  const gecko = GECKO_FRAME.exec(line);
  if (gecko) return parseGecko(gecko[1] ?? '', gecko[2] ?? '');
  const bare = BARE_LOCATION.exec(line);
  if (bare) return splitLocation(undefined, bare[1] ?? '');
  return undefined;
}

function parseV8(line: string): Frame | undefined {
  const match = V8_FRAME.exec(line.trim() === line ? line : line.replace(/\s+$/, ''));
  if (!match) return undefined;
  let fn = match[1];
  let location = match[2] ?? match[3] ?? '';
  if (match[3] !== undefined && location.startsWith('async ')) location = location.slice(6); // "at async file:1:2"
  // "eval at outer (file:1:2), <anonymous>:3:4": the code ran from an eval inside outer; report where that eval sits.
  if (location.startsWith('eval at ')) {
    const inner = /\((.*?:\d+:\d+)\)/.exec(location);
    location = inner?.[1] ?? location;
  }
  // "at Promise.all (index 0)", "at fn (native)": no location we can use.
  if (location.startsWith('index ') || location === 'native') return makeFrame(fn, '<native>', undefined, undefined);
  if (!fn && match[3] !== undefined && !LOCATION.test(location) && !LOCATION_LINE_ONLY.test(location)) {
    fn = location; // "at <anonymous>"
    location = '<anonymous>';
  }
  return splitLocation(cleanV8Function(fn), location);
}

function cleanV8Function(fn: string | undefined): string | undefined {
  if (!fn) return undefined;
  let name = fn.startsWith('async ') ? fn.slice(6) : fn;
  // "Object.<anonymous>" is how CommonJS modules' top level reads; "<anonymous>" says nothing.
  if (name === '<anonymous>' || name === 'Object.<anonymous>') return undefined;
  name = name.replace(/ \[as [^\]]+\]$/, '');
  return name || undefined;
}

function parseGecko(fn: string, location: string): Frame | undefined {
  if (!location) return undefined;
  let where = location;
  const evalMatch = GECKO_EVAL.exec(where);
  if (evalMatch) {
    // "file line 2 > eval:1:5": the eval was called from line 2 of file.
    return makeFrame(cleanGeckoFunction(fn) ?? 'eval', where.slice(0, evalMatch.index), Number(evalMatch[1]), undefined);
  }
  if (where === '[native code]') return makeFrame(cleanGeckoFunction(fn), '[native code]', undefined, undefined);
  where = where.replace(/^address at /, '');
  return splitLocation(cleanGeckoFunction(fn), where);
}

function cleanGeckoFunction(fn: string): string | undefined {
  // SpiderMonkey names nested anonymous functions "outer/<" or "outer/inner<" and marks async
  // hops "async*fn"; old versions added arguments, "fn(1)"; JavaScriptCore says "global code".
  let name = fn.includes('*') ? fn.slice(fn.lastIndexOf('*') + 1) : fn;
  name = name.replace(/\(.*\)$/, '').replace(/\/<+$/, '').replace(/<+$/, '');
  if (name.includes('/')) name = name.slice(name.lastIndexOf('/') + 1) || name;
  if (name === 'global code' || name === 'module code' || name === 'eval code') return undefined;
  return name || undefined;
}

function splitLocation(fn: string | undefined, location: string): Frame {
  const full = LOCATION.exec(location);
  if (full) return makeFrame(fn, full[1] ?? '', Number(full[2]), Number(full[3]));
  const lineOnly = LOCATION_LINE_ONLY.exec(location);
  if (lineOnly) return makeFrame(fn, lineOnly[1] ?? '', Number(lineOnly[2]), undefined);
  return makeFrame(fn, location, undefined, undefined);
}

function makeFrame(fn: string | undefined, rawPath: string, lineno: number | undefined, colno: number | undefined): Frame {
  const frame: Frame = {};
  const filename = toFilename(rawPath);
  if (filename) frame.filename = filename;
  if (rawPath && rawPath !== filename) frame.abs_path = rawPath;
  if (fn) frame.function = fn;
  if (lineno !== undefined && Number.isInteger(lineno)) frame.lineno = lineno;
  if (colno !== undefined && Number.isInteger(colno)) frame.colno = colno;
  frame.in_app = isInApp(filename);
  return frame;
}

/** A path as people read it: `file:///srv/app.js` → `/srv/app.js`; URLs and `node:` names unchanged. */
function toFilename(path: string): string {
  if (!path.startsWith('file://')) return path;
  try {
    return decodeURIComponent(path.slice(7).replace(/^\/([A-Za-z]:\/)/, '$1'));
  } catch {
    return path.slice(7);
  }
}

/** The application's own code: not a dependency, not the runtime, not something without a file. */
export function isInApp(filename: string | undefined): boolean {
  if (!filename) return false;
  if (filename.includes('/node_modules/') || filename.includes('\\node_modules\\')) return false;
  if (filename.startsWith('node:') || filename.startsWith('internal/')) return false;
  if (filename === '<native>' || filename === '[native code]' || filename === '<anonymous>' || filename === 'native') {
    return false;
  }
  return true;
}
