// Test helpers: a local capturing HTTP server (the far side of the network) and a real
// `pulsekit serve` on a free 127.0.0.1 port with a temporary data folder.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

export const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = join(SDK_DIR, '..', '..');
const run = promisify(execFile);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function eventually(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * An HTTP server that records every request (body gunzipped and parsed) and answers with
 * `respond(request, index)` → {status, headers, body} or {destroy: true} (the answer is lost);
 * default 202.
 */
export async function startCaptureServer(respond = () => ({ status: 202 })) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const decoded = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      let body;
      try {
        body = JSON.parse(decoded.toString('utf8'));
      } catch {
        body = decoded.toString('utf8');
      }
      const request = { method: req.method, path: req.url, headers: req.headers, body, at: Date.now() };
      requests.push(request);
      const answer = (await respond(request, requests.length - 1)) ?? { status: 202 };
      if (answer.destroy) {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status ?? 202, { 'Content-Type': 'application/json', ...(answer.headers ?? {}) });
      res.end(answer.body ?? JSON.stringify({ ids: Array.isArray(body?.events) ? body.events.map((e) => e.id) : [] }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    events: () => requests.flatMap((request) => request.body?.events ?? []),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function pythonBin() {
  const python = process.env.PULSEKIT_PYTHON ?? join(REPO_ROOT, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`no Python with PulseKit at ${python}: create the repo's .venv (see README) or set PULSEKIT_PYTHON`);
  }
  return python;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real PulseKit server; `stop()` it in a finally/after hook. */
export async function startPulsekit() {
  const python = pythonBin();
  const dataDir = mkdtempSync(join(tmpdir(), 'pulsekit-ts-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cli = async (...args) => {
    const { stdout } = await run(python, ['-m', 'pulsekit.cli', ...args, '--data-dir', dataDir, '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PULSEKIT_BASE_URL: url },
      timeout: 60_000,
    });
    return JSON.parse(stdout);
  };
  const log = [];
  const child = spawn(python, ['-m', 'pulsekit.cli', 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`pulsekit serve exited ${child.exitCode}:\n${log.join('')}`);
      return fetch(`${url}/api/v1/health`).then((r) => r.ok).catch(() => false);
    }, 'pulsekit serve to be healthy', 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    log: () => log.join(''),
    /** A new project and a key (`pulsekit key create --json`: {key, dsn, …}). */
    async newProject(name, permissions = 'ingest,read') {
      const project = await cli('project', 'create', name);
      const key = await cli('key', 'create', '--project', project.slug, '--permissions', permissions);
      return { project, key };
    },
    /** Another key for an existing project. */
    createKey(slug, permissions) {
      return cli('key', 'create', '--project', slug, '--permissions', permissions);
    },
    /** Every stored event of the key's project, newest first, through the read API. */
    async readEvents(readKey) {
      const response = await fetch(`${url}/api/v1/events?limit=200`, { headers: { 'X-PulseKit-Key': readKey } });
      if (!response.ok) throw new Error(`GET /api/v1/events: ${response.status} ${await response.text()}`);
      return (await response.json()).events;
    },
    stop,
  };
}
