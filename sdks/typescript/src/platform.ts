/**
 * What differs between runtimes, set once by the entry point: index.ts (browsers, bundlers,
 * other runtimes) or node.ts (Node, which adds AsyncLocalStorage and process hooks).
 */
import type { PulseKit } from './client.js';

export interface Platform {
  /** Installs the runtime's hooks the client's options ask for (uncaught errors, request isolation, page hide); returns their removal. */
  installHandlers(client: PulseKit): () => void;
  uuid(): string;
}

export function webUuid(): string {
  const webCrypto = (globalThis as { crypto?: Crypto }).crypto;
  // randomUUID exists in secure contexts only (https, localhost); getRandomValues everywhere.
  if (typeof webCrypto?.randomUUID === 'function') return webCrypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof webCrypto?.getRandomValues === 'function') webCrypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let platform: Platform = { installHandlers: () => () => undefined, uuid: webUuid };

export function setPlatform(next: Platform): void {
  platform = next;
}

export function currentPlatform(): Platform {
  return platform;
}
