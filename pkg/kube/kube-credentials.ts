// The Authorization header for each request to the API server, from the credentials of a KubeTarget. A token file
// is re-read once a minute (kubelet rotates projected service account tokens, as client-go re-reads them); an exec
// plugin's token is kept until its expirationTimestamp, and run again after a 401 (client-go's behaviour too).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ExecConfig, KubeCredentials } from './kube-config.js';

export interface CredentialDeps {
  readonly readFile: (path: string) => Promise<string>;
  /** Runs the plugin; resolves with its stdout. */
  readonly runExec: (exec: ExecConfig, env: Record<string, string>) => Promise<string>;
  readonly now: () => number;
}

const TOKEN_FILE_TTL_MS = 60_000;
/** How long an exec plugin may take, and how much it may print. */
const EXEC_TIMEOUT_MS = 30_000;
const EXEC_MAX_BYTES = 1024 * 1024;

export const DEFAULT_CREDENTIAL_DEPS: CredentialDeps = {
  readFile: (path) => readFile(path, 'utf8'),
  runExec: (exec, env) =>
    new Promise((resolve, reject) => {
      execFile(
        exec.command,
        [...exec.args],
        { env: { ...process.env, ...exec.env, ...env }, timeout: EXEC_TIMEOUT_MS, maxBuffer: EXEC_MAX_BYTES },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`${exec.field}: ${exec.command} failed: ${stderr.trim() || error.message}`));
          else resolve(stdout);
        },
      );
    }),
  now: Date.now,
};

interface CachedHeader {
  readonly header: string;
  readonly until: number;
}

export class CredentialSource {
  readonly #credentials: KubeCredentials;
  readonly #deps: CredentialDeps;
  #cached: CachedHeader | undefined;
  #pending: Promise<string> | undefined;
  /** Counts invalidate() calls: a read that began before one is used by those who asked for it, but not kept. */
  #generation = 0;

  constructor(credentials: KubeCredentials, deps: CredentialDeps = DEFAULT_CREDENTIAL_DEPS) {
    this.#credentials = credentials;
    this.#deps = deps;
  }

  /** The header value, or undefined when the target authenticates by client certificate or not at all. */
  async authorization(): Promise<string | undefined> {
    const c = this.#credentials;
    switch (c.kind) {
      case 'none':
        return undefined;
      case 'token':
        return `Bearer ${c.token}`;
      case 'basic':
        return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
      case 'tokenFile':
      case 'exec': {
        if (this.#cached && this.#deps.now() < this.#cached.until) return this.#cached.header;
        // Concurrent requests share one read or one run of the plugin.
        if (!this.#pending) {
          const generation = this.#generation;
          const pending: Promise<string> = this.#refresh(c)
            .then((read) => {
              if (generation === this.#generation) this.#cached = read;
              return read.header;
            })
            .finally(() => {
              if (this.#pending === pending) this.#pending = undefined;
            });
          this.#pending = pending;
        }
        return this.#pending;
      }
    }
  }

  /**
   * After a 401: the next request reads the token again, even while a read is in flight (it may have read the token
   * that was just refused).
   */
  invalidate(): void {
    this.#cached = undefined;
    this.#pending = undefined;
    this.#generation++;
  }

  async #refresh(c: Extract<KubeCredentials, { kind: 'tokenFile' | 'exec' }>): Promise<CachedHeader> {
    if (c.kind === 'tokenFile') {
      let token: string;
      try {
        token = (await this.#deps.readFile(c.path)).trim();
      } catch (e) {
        throw new Error(`token file ${c.path}: ${(e as Error).message}`, { cause: e });
      }
      if (token === '') throw new Error(`token file ${c.path} is empty`);
      return { header: `Bearer ${token}`, until: this.#deps.now() + TOKEN_FILE_TTL_MS };
    }
    const { token, expiresAt } = parseExecCredential(
      await this.#deps.runExec(c.exec, {
        KUBERNETES_EXEC_INFO: JSON.stringify({
          apiVersion: c.exec.apiVersion,
          kind: 'ExecCredential',
          spec: { interactive: false },
        }),
      }),
      c.exec,
    );
    return { header: `Bearer ${token}`, until: expiresAt ?? Infinity };
  }
}

/** A plugin's ExecCredential: its token, and when it expires. */
export function parseExecCredential(stdout: string, exec: ExecConfig): { token: string; expiresAt?: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`${exec.field}: ${exec.command} did not print an ExecCredential (not JSON)`);
  }
  const status = (doc as { status?: unknown })?.status as
    { token?: unknown; expirationTimestamp?: unknown; clientCertificateData?: unknown } | undefined;
  if (typeof status?.token !== 'string' || status.token === '') {
    const why = status?.clientCertificateData
      ? 'it returned a client certificate, which is not supported; a token is'
      : 'its status has no token';
    throw new Error(`${exec.field}: ${exec.command}: ${why}`);
  }
  const expires = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
  return { token: status.token, ...(Number.isNaN(expires) ? {} : { expiresAt: expires }) };
}
