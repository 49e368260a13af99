/**
 * The event's wire form, kept within the limits of docs/protocol.md.
 *
 * The server refuses a whole batch when one event breaks a rule, so every event is made valid
 * here, on the client, rather than risking the events it travels with.
 */
import type { ChainedException, ExceptionInfo, Frame, Level, Primitive, Stacktrace, User, WireEvent } from './types.js';

export const LEVELS: readonly Level[] = ['debug', 'info', 'warning', 'error', 'fatal'];
const LEVEL_ALIASES: Record<string, Level> = { warn: 'warning', err: 'error', critical: 'fatal' };
const USER_FIELDS = ['id', 'email', 'username', 'ip_address'] as const;
const FRAME_TEXT_LIMITS = { filename: 1024, abs_path: 1024, function: 256, module: 256, context_line: 1024 } as const;

export const MAX_TYPE_CHARS = 100;
export const MAX_MESSAGE_CHARS = 8192;
export const MAX_METADATA_BYTES = 64 * 1024;
const MAX_METADATA_DEPTH = 10;
const MAX_TAGS = 50;
const MAX_TAG_KEY_CHARS = 64;
const MAX_TAG_VALUE_CHARS = 200;
const MAX_USER_FIELD_CHARS = 200;
const MAX_FINGERPRINT_PARTS = 10;
const MAX_FINGERPRINT_PART_CHARS = 200;
const MAX_EXCEPTION_TYPE_CHARS = 256;
export const MAX_CHAIN = 10;
export const MAX_FRAMES = 250;
const MAX_CONTEXT_LINES = 10;

const NAME_OUTSIDE_CHARSET = /[^A-Za-z0-9_.:-]/g;
const NAME_IS_CLEAN = /^[A-Za-z0-9_.:-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** The protocol's name for a level ('WARN' → 'warning'), or undefined when it is not one. */
export function normalizeLevel(level: unknown): Level | undefined {
  if (typeof level !== 'string') return undefined;
  const name = level.trim().toLowerCase();
  const resolved = LEVEL_ALIASES[name] ?? name;
  return (LEVELS as readonly string[]).includes(resolved) ? (resolved as Level) : undefined;
}

/** A type or tag key in the protocol's character set: other characters become '_'. */
export function cleanName(value: unknown, maxChars: number): string {
  const text = String(value);
  return (NAME_IS_CLEAN.test(text) ? text : text.replace(NAME_OUTSIDE_CHARSET, '_')).slice(0, maxChars);
}

export function tagValue(value: Primitive): string {
  const text = String(value);
  return (HAS_CONTROL_CHARS.test(text) ? text.replace(CONTROL_CHARS, ' ') : text).slice(0, MAX_TAG_VALUE_CHARS);
}

/** Tags as string → string within the protocol's limits; null/undefined values are skipped. */
export function cleanTags(tags: unknown, into: Record<string, string> = {}): Record<string, string> {
  if (tags === null || typeof tags !== 'object') return into;
  for (const key of Object.keys(tags)) {
    const value = (tags as Record<string, Primitive>)[key];
    const name = cleanName(key, MAX_TAG_KEY_CHARS);
    if (!name) continue;
    if (value === null || value === undefined) {
      delete into[name];
      continue;
    }
    if (!(name in into) && Object.keys(into).length >= MAX_TAGS) continue;
    into[name] = tagValue(value);
  }
  return into;
}

/**
 * A copy of value made of JSON types only: other objects become strings, cycles are cut.
 * The server counts the metadata object as level 1 and refuses anything nested past level 10.
 */
export function jsonSafe(value: unknown, depth = 0, seen: Set<object> = new Set()): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'function':
      return `[function ${(value as { name?: string }).name || 'anonymous'}]`;
    case 'symbol':
      return value.toString();
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (object instanceof Error) return `${object.name}: ${object.message}`;
  if (depth >= MAX_METADATA_DEPTH - 1) return safeString(object);
  if (seen.has(object)) return '[circular]';
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => jsonSafe(item, depth + 1, seen));
    if (object instanceof Map) return jsonSafe(Object.fromEntries(object), depth, seen);
    if (object instanceof Set) return jsonSafe([...object], depth, seen);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = jsonSafe(item, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

function safeString(value: object): string {
  try {
    return JSON.stringify(value).slice(0, 1000);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Metadata as a JSON object of at most 64 KiB; a larger one is replaced by a note saying so. */
export function cleanMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata === null || metadata === undefined) return undefined;
  const isObject = typeof metadata === 'object' && !Array.isArray(metadata);
  const safe = jsonSafe(isObject ? metadata : { value: metadata }) as Record<string, unknown>;
  if (Object.keys(safe).length === 0) return undefined;
  const size = utf8Length(JSON.stringify(safe));
  return size > MAX_METADATA_BYTES ? { pulsekit_dropped_metadata_bytes: size } : safe;
}

export function cleanUser(user: unknown): User | undefined {
  if (user === null || typeof user !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const key of USER_FIELDS) {
    const value = (user as Record<string, unknown>)[key];
    if (value !== null && value !== undefined && value !== '') out[key] = String(value).slice(0, MAX_USER_FIELD_CHARS);
  }
  return Object.keys(out).length ? out : undefined;
}

export function cleanFingerprint(fingerprint: unknown): string[] | undefined {
  if (!Array.isArray(fingerprint) || fingerprint.length === 0) return undefined;
  return fingerprint.slice(0, MAX_FINGERPRINT_PARTS).map((part) => String(part).slice(0, MAX_FINGERPRINT_PART_CHARS));
}

/** Keeps the 250 frames closest to the failure, and only fields of the right type and length. */
export function cleanStacktrace(stacktrace: unknown): Stacktrace | undefined {
  const frames = (stacktrace as { frames?: unknown } | null | undefined)?.frames;
  if (!Array.isArray(frames) || frames.length === 0) return undefined;
  return { frames: frames.slice(-MAX_FRAMES).filter(isObject).map(cleanFrame) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function cleanFrame(frame: Record<string, unknown>): Frame {
  const out: Record<string, unknown> = {};
  for (const [key, limit] of Object.entries(FRAME_TEXT_LIMITS)) {
    const value = frame[key];
    if (typeof value === 'string') out[key] = value.slice(0, limit);
  }
  for (const key of ['lineno', 'colno']) {
    const value = frame[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) out[key] = value;
  }
  if (typeof frame.in_app === 'boolean') out.in_app = frame.in_app;
  for (const key of ['pre_context', 'post_context']) {
    const lines = frame[key];
    if (Array.isArray(lines)) {
      out[key] = lines
        .filter((line): line is string => typeof line === 'string')
        .slice(-MAX_CONTEXT_LINES)
        .map((line) => line.slice(0, FRAME_TEXT_LIMITS.context_line));
    }
  }
  return out as Frame;
}

export function cleanException(exception: unknown, isChained = false): (ExceptionInfo & ChainedException) | undefined {
  if (!isObject(exception) || !exception.type) return undefined;
  const out: ExceptionInfo & ChainedException = { type: String(exception.type).slice(0, MAX_EXCEPTION_TYPE_CHARS) };
  if (exception.value !== undefined && exception.value !== null) out.value = String(exception.value).slice(0, MAX_MESSAGE_CHARS);
  if (exception.module !== undefined && exception.module !== null) out.module = String(exception.module).slice(0, 256);
  if (isChained) {
    const stacktrace = cleanStacktrace(exception.stacktrace);
    if (stacktrace) out.stacktrace = stacktrace;
  } else if (Array.isArray(exception.chain)) {
    const chain = exception.chain.slice(0, MAX_CHAIN).map((entry) => cleanException(entry, true));
    const kept = chain.filter((entry): entry is ChainedException => entry !== undefined);
    if (kept.length) out.chain = kept;
  }
  return out;
}

export function cleanLabel(value: unknown, maxChars: number, forbidSlash = false): string | undefined {
  if (value === null || value === undefined) return undefined;
  let text = String(value).replace(CONTROL_CHARS, '').slice(0, maxChars);
  if (forbidSlash) text = text.replace(/\//g, '-');
  return text || undefined;
}

export function cleanTimestamp(value: unknown): string | number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value === 'string' && value) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

/**
 * An event a `beforeSend` hook returned, made valid again: only protocol fields, each within its
 * limits. The SDK's own events are built valid and skip this.
 */
export function cleanEvent(event: Record<string, unknown>, fallbackId: string): WireEvent {
  const exception = cleanException(event.exception);
  const level = normalizeLevel(event.level) ?? (exception ? 'error' : 'info');
  const defaultType = exception || level === 'error' || level === 'fatal' ? 'error' : 'message';
  const out: Record<string, unknown> = {
    id: typeof event.id === 'string' && event.id ? event.id : fallbackId,
    type: (event.type ? cleanName(event.type, MAX_TYPE_CHARS) : '') || defaultType,
    level,
  };
  if (event.message !== undefined && event.message !== null) out.message = String(event.message).slice(0, MAX_MESSAGE_CHARS);
  if (exception) out.exception = exception;
  const stacktrace = cleanStacktrace(event.stacktrace);
  if (stacktrace) out.stacktrace = stacktrace;
  const environment = cleanLabel(event.environment, 64, true);
  if (environment) out.environment = environment;
  const release = cleanLabel(event.release, 200);
  if (release) out.release = release;
  const tags = cleanTags(event.tags);
  if (Object.keys(tags).length) out.tags = tags;
  const user = cleanUser(event.user);
  if (user) out.user = user;
  const metadata = cleanMetadata(event.metadata);
  if (metadata) out.metadata = metadata;
  const fingerprint = cleanFingerprint(event.fingerprint);
  if (fingerprint) out.fingerprint = fingerprint;
  out.timestamp = cleanTimestamp(event.timestamp) ?? new Date().toISOString();
  return out as unknown as WireEvent;
}

/** Bytes of `text` in UTF-8, without encoding it (the queue's byte bound runs on every capture). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) i++, (bytes += 2);
    else bytes += 2;
  }
  return bytes;
}
