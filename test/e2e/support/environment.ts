// The end-to-end environment: the local control plane and registries that the e2e global setup started in their own
// state folder, kubectl against it, and the operator started from the built CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCommand, type CommandResult } from './run.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const TOOLS_BIN = join(ROOT, '.tools', 'bin');
export const STATE = process.env['IMPRIMATUR_E2E_STATE_DIR'] ?? join(ROOT, '.e2e');

export interface Environment {
  readonly kubeconfig: string;
  /**
   * Every variable of the state folder's env file (REGISTRY, REGISTRY_BASIC, REGISTRY_USER, ...; hack/cluster-up.sh
   * lists them), among them REGISTRY_TLS, a registry serving HTTPS with the self-signed certificate REGISTRY_TLS_CERT.
   */
  readonly vars: Readonly<Record<string, string>>;
  kubectl(args: readonly string[], input?: string): Promise<CommandResult>;
}

const baseEnv = () => ({
  ...process.env,
  PATH: `${TOOLS_BIN}:${process.env['PATH'] ?? ''}`,
  IMPRIMATUR_STATE_DIR: STATE,
});

/** The environment the e2e global setup started (test/e2e/support/global-setup.mjs). */
export function loadEnvironment(): Environment {
  const vars = Object.fromEntries(
    [...readFileSync(join(STATE, 'env'), 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const kubeconfig = vars['KUBECONFIG']!;
  const env = { ...baseEnv(), KUBECONFIG: kubeconfig };
  return {
    kubeconfig,
    vars,
    kubectl: (args, input) =>
      runCommand(join(TOOLS_BIN, 'kubectl'), args, input === undefined ? { env } : { env, input }),
  };
}

export interface OperatorProcess {
  readonly probePort: number;
  /** Everything the operator has logged so far, one JSON object per line. */
  logLines(): Record<string, unknown>[];
  /**
   * Sends SIGTERM and resolves with the exit code once it has exited (SIGKILL after `killAfterMs`, 10 s by default,
   * which resolves 1 like any death by signal); with its code at once when it has already exited.
   */
  stop(options?: { killAfterMs?: number }): Promise<number>;
  /** Ends it with SIGKILL, as a crashed pod: no clean-up, no lease release. */
  kill(): Promise<void>;
}

/** Starts bin/imprimatur run --local against the environment and waits until /readyz answers 200. */
export async function startOperator(
  env: Environment,
  probePort: number,
  options: { args?: readonly string[]; name?: string; trustedRoot?: boolean } = {},
): Promise<OperatorProcess> {
  const name = options.name ?? 'operator';
  mkdirSync(join(STATE, 'logs'), { recursive: true });
  const logFile = join(STATE, 'logs', `${name}.log`);
  const out = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    join(ROOT, 'bin', 'imprimatur'),
    [
      'run',
      '--local',
      '--webhook-port=0',
      `--health-probe-bind-address=127.0.0.1:${probePort}`,
      `--kubeconfig=${env.kubeconfig}`,
      // The local transparency log's key (hack/fake-rekor.mjs), as a real deployment gives the public-good root.
      ...(options.trustedRoot === false ? [] : [`--trusted-root=${env.vars['TRUSTED_ROOT']!}`]),
      '--log-level=debug',
      ...(options.args ?? []),
    ],
    { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  // Recorded with the cluster's processes, so hack/cluster-down.sh stops it even if this test run dies.
  writeFileSync(join(STATE, 'pids', name), String(child.pid));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${probePort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`operator did not become ready:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    probePort,
    logLines: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop({ killAfterMs = 10_000 } = {}) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        await exited;
        clearTimeout(timer);
      }
      out.end();
      return exited;
    },
    async kill() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      out.end();
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails with the last thing it saw. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A port that is free now, for a process to bind later. Taken below the kernel's ephemeral range: a port the kernel
 * hands out for listen(0) (the operator's webhook with --webhook-port=0 does that) may be the one a test was just
 * given and has not bound yet, and once an operator failed its start with EADDRINUSE on its probe port that way.
 */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
  // The 10,000 ports below the range, never a privileged one (Linux's default range starts at 32,768).
  const below = Math.max(Number(first) || 32_768, 1_024 + 10_000);
  const bindable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = below - 10_000 + Math.floor(Math.random() * 10_000);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found in ${below - 10_000}-${below - 1}`);
}
