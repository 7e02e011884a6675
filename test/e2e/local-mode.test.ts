// `make run` (bin/imprimatur run --local) against a kubeconfig whose API server is on another machine: it must stop
// at once, saying why and what to do, rather than register a 127.0.0.1 webhook that API server can never call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/environment.js';
import { runCommand } from './support/run.js';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'imprimatur-local-mode-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A kubeconfig for an API server at `server` (nothing listens there; nothing must be asked). */
function kubeconfig(server: string): string {
  const file = join(work, `kubeconfig-${Buffer.from(server).toString('hex').slice(0, 16)}`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- {name: remote, cluster: {server: '${server}', insecure-skip-tls-verify: true}}`,
      'users:',
      '- {name: u, user: {token: x}}',
      'contexts:',
      '- {name: remote, context: {cluster: remote, user: u}}',
      'current-context: remote',
    ].join('\n'),
  );
  return file;
}

describe('run --local against an API server on another machine', () => {
  it('exits at once with status 2, saying why and what to do', async () => {
    const started = Date.now();
    // 192.0.2.0/24 is TEST-NET-1: no machine answers there, so a run that tried to reach it would hang, not fail.
    const ran = await runCommand(
      join(ROOT, 'bin', 'imprimatur'),
      ['run', '--local', '--kubeconfig', kubeconfig('https://192.0.2.10:6443'), '--health-probe-bind-address=0'],
      { timeoutMs: 30_000 },
    );
    expect(ran.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(ran.stderr).toContain('the API server at https://192.0.2.10:6443 is not on this machine');
    expect(ran.stderr).toContain("'make deploy'");
    expect(ran.stderr).toContain('--webhook-url');
  });
});
