/**
 * Tags, user, context and breadcrumbs, and where they live.
 *
 * A client's global scope holds what `init` and top-level `setTag` calls set. `withScope(fn)`
 * forks the current scope: what `fn` (and, in Node, every async continuation it starts) sets stays
 * there. In Node the current scope follows async work through AsyncLocalStorage (see node.ts);
 * elsewhere it is a synchronous stack, so in a browser a scope lasts until `fn` returns.
 */
import type { Breadcrumb, Primitive, User } from './types.js';
import { cleanTags, cleanUser, jsonSafe } from './wire.js';

export const DEFAULT_MAX_BREADCRUMBS = 30;

export class Scope {
  tags: Record<string, string>;
  user: User | undefined;
  contexts: Record<string, unknown>;
  breadcrumbs: Breadcrumb[];
  maxBreadcrumbs: number;

  constructor(parent?: Scope) {
    this.tags = parent ? { ...parent.tags } : {};
    this.user = parent?.user;
    this.contexts = parent ? { ...parent.contexts } : {};
    this.breadcrumbs = parent ? parent.breadcrumbs.slice() : [];
    this.maxBreadcrumbs = parent?.maxBreadcrumbs ?? DEFAULT_MAX_BREADCRUMBS;
  }

  /** Sets one tag; `null` or `undefined` removes it. */
  setTag(key: string, value: Primitive): this {
    cleanTags({ [key]: value }, this.tags);
    return this;
  }

  setTags(tags: Record<string, Primitive>): this {
    cleanTags(tags, this.tags);
    return this;
  }

  /** `{id, email, username, ip_address}`; `null` clears it. */
  setUser(user: User | null): this {
    this.user = user ? cleanUser(user) : undefined;
    return this;
  }

  /** Merged into the metadata of every event under `key`; `null` removes it. */
  setContext(key: string, value: unknown): this {
    if (value === null || value === undefined) delete this.contexts[key];
    else this.contexts[key] = jsonSafe(value, 1);
    return this;
  }

  addBreadcrumb(crumb: Breadcrumb): this {
    this.breadcrumbs.push(crumb);
    if (this.breadcrumbs.length > this.maxBreadcrumbs) this.breadcrumbs.splice(0, this.breadcrumbs.length - this.maxBreadcrumbs);
    return this;
  }

  clearBreadcrumbs(): this {
    this.breadcrumbs = [];
    return this;
  }
}

/** Where the current scope is kept: AsyncLocalStorage in Node, a call stack elsewhere. */
export interface ScopeStorage {
  current(): Scope | undefined;
  run<T>(scope: Scope, fn: () => T): T;
  /** Makes `scope` current for the rest of the running async context (Node's request isolation). */
  enter?(scope: Scope): void;
}

class StackStorage implements ScopeStorage {
  private stack: Scope[] = [];

  current(): Scope | undefined {
    return this.stack[this.stack.length - 1];
  }

  run<T>(scope: Scope, fn: () => T): T {
    this.stack.push(scope);
    try {
      return fn();
    } finally {
      const index = this.stack.lastIndexOf(scope);
      if (index >= 0) this.stack.splice(index, 1);
    }
  }
}

let storage: ScopeStorage = new StackStorage();

export function setScopeStorage(next: ScopeStorage): void {
  storage = next;
}

export function scopeStorage(): ScopeStorage {
  return storage;
}

/** Breadcrumbs recorded outside any scope (console calls at start-up, a fetch in a timer). */
export const processScope = new Scope();
