// Stops everything the e2e run started: hack/cluster-down.sh ends the recorded processes (operators included).
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import process from 'node:process';

export default function globalTeardown() {
  const root = resolve(import.meta.dirname, '..', '..', '..');
  execFileSync(join(root, 'hack', 'cluster-down.sh'), [], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, IMPRIMATUR_STATE_DIR: process.env.IMPRIMATUR_E2E_STATE_DIR ?? join(root, '.e2e') },
    timeout: 120_000,
  });
}
