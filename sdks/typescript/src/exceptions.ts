/**
 * Anything thrown, turned into the protocol's exception, stacktrace and chain.
 *
 * `Error.cause` is followed (direct cause first, as the protocol wants), and the errors an
 * `AggregateError` carries join the chain after the causes: both are "the earlier exceptions this
 * one was raised from". Non-Error values (`throw 'oops'`, a rejected plain object) still make an event.
 */
import { parseStack } from './stacktrace.js';
import type { ChainedException, ExceptionInfo, Stacktrace } from './types.js';
import { MAX_CHAIN, MAX_FRAMES, MAX_MESSAGE_CHARS } from './wire.js';

export interface ExceptionParts {
  exception: ExceptionInfo;
  stacktrace?: Stacktrace;
  message: string;
}

interface Described {
  type: string;
  value: string;
  stacktrace?: Stacktrace;
}

export function exceptionParts(thrown: unknown): ExceptionParts {
  const primary = describe(thrown);
  const exception: ExceptionInfo = { type: primary.type };
  if (primary.value) exception.value = primary.value;
  const chain = chainOf(thrown);
  if (chain.length) exception.chain = chain;
  const parts: ExceptionParts = { exception, message: primary.value || primary.type };
  if (primary.stacktrace) parts.stacktrace = primary.stacktrace;
  return parts;
}

function chainOf(thrown: unknown): ChainedException[] {
  const chain: ChainedException[] = [];
  const seen = new Set<unknown>([thrown]);
  const add = (error: unknown): boolean => {
    if (chain.length >= MAX_CHAIN || seen.has(error)) return false;
    seen.add(error);
    const described = describe(error);
    const entry: ChainedException = { type: described.type };
    if (described.value) entry.value = described.value;
    if (described.stacktrace) entry.stacktrace = described.stacktrace;
    chain.push(entry);
    return true;
  };
  let current: unknown = thrown;
  while (hasCause(current) && add(current.cause)) current = current.cause;
  const aggregated = errorsOf(thrown);
  for (const error of aggregated) if (!add(error)) break;
  return chain;
}

function hasCause(value: unknown): value is { cause: unknown } {
  return value !== null && typeof value === 'object' && 'cause' in value && (value as { cause: unknown }).cause !== undefined;
}

function errorsOf(value: unknown): unknown[] {
  const errors = (value as { errors?: unknown } | null)?.errors;
  return typeof AggregateError !== 'undefined' && value instanceof AggregateError && Array.isArray(errors) ? errors : [];
}

function describe(thrown: unknown): Described {
  if (isErrorLike(thrown)) {
    const described: Described = { type: errorType(thrown), value: String(thrown.message ?? '').slice(0, MAX_MESSAGE_CHARS) };
    const frames = parseStack(safeStack(thrown)).slice(-MAX_FRAMES);
    if (frames.length) described.stacktrace = { frames };
    return described;
  }
  if (typeof thrown === 'string') return { type: 'Error', value: thrown };
  if (thrown === null || thrown === undefined || typeof thrown !== 'object') {
    return { type: 'Error', value: `non-Error thrown: ${String(thrown)}` };
  }
  return { type: 'Error', value: `non-Error object thrown: ${summarize(thrown)}` };
}

function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  // Errors from another realm (an iframe, a vm context) fail instanceof but keep their shape.
  return value !== null && typeof value === 'object' && typeof (value as Error).message === 'string' && typeof (value as Error).stack === 'string';
}

/** The reported type: `name`, or the class name when a subclass kept the inherited "Error". */
function errorType(error: Error): string {
  let name: unknown;
  try {
    name = error.name;
  } catch {
    name = undefined;
  }
  const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
  if ((name === undefined || name === 'Error') && typeof constructorName === 'string' && constructorName && constructorName !== 'Object') {
    return constructorName;
  }
  return typeof name === 'string' && name ? name : 'Error';
}

function safeStack(error: Error): string | undefined {
  try {
    return typeof error.stack === 'string' ? error.stack : undefined;
  } catch {
    return undefined; // a getter that throws
  }
}

function summarize(value: object): string {
  try {
    return JSON.stringify(value).slice(0, 1000);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
