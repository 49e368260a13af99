/** Public types shared by the SDK's modules. */

export type Level = 'debug' | 'info' | 'warning' | 'error' | 'fatal';
export type Primitive = string | number | boolean | bigint | null | undefined;

/** Who was affected; every field is sent as a string of at most 200 characters. */
export interface User {
  id?: string | number;
  email?: string;
  username?: string;
  ip_address?: string;
}

/** One stack frame, as the wire protocol spells it (frames are oldest first). */
export interface Frame {
  filename?: string;
  abs_path?: string;
  function?: string;
  module?: string;
  lineno?: number;
  colno?: number;
  in_app?: boolean;
  context_line?: string;
  pre_context?: string[];
  post_context?: string[];
}

export interface Stacktrace {
  frames: Frame[];
}

export interface ChainedException {
  type: string;
  value?: string;
  module?: string;
  stacktrace?: Stacktrace;
}

export interface ExceptionInfo {
  type: string;
  value?: string;
  module?: string;
  chain?: ChainedException[];
}

/** An event exactly as it travels on the wire (docs/protocol.md); unset fields are absent. */
export interface WireEvent {
  id: string;
  type: string;
  level: Level;
  message?: string;
  exception?: ExceptionInfo;
  stacktrace?: Stacktrace;
  environment?: string;
  release?: string;
  tags?: Record<string, string>;
  user?: User;
  metadata?: Record<string, unknown>;
  fingerprint?: string[];
  timestamp: string;
}

/** What `capture()` takes: a custom event. Every field is optional. */
export interface EventInput {
  type?: string;
  level?: Level | string;
  message?: string;
  metadata?: Record<string, unknown>;
  tags?: Record<string, Primitive>;
  user?: User;
  fingerprint?: string[];
  timestamp?: string | number | Date;
}

/** Extra fields for `captureException()` and `captureMessage()`. */
export interface CaptureHint {
  tags?: Record<string, Primitive>;
  level?: Level | string;
  metadata?: Record<string, unknown>;
  user?: User;
  fingerprint?: string[];
}

export interface Breadcrumb {
  timestamp: string;
  category: string;
  level?: Level;
  message?: string;
  data?: Record<string, unknown>;
}

/** Why events were dropped, counted by `pulse.droppedEvents()`. */
export type DropReason =
  | 'sample_rate'
  | 'before_send'
  | 'before_send_error'
  | 'queue_full'
  | 'queue_bytes'
  | 'too_large'
  | 'rejected'
  | 'unauthorized'
  | 'retries_exhausted'
  | 'transport_error'
  | 'internal_error'
  | 'closed';
