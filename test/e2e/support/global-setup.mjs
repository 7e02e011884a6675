// Starts the end-to-end environment once for all e2e test files: the project's local control plane and
// registries (hack/cluster-up.sh) in their own state folder, so a developer's `make run` cluster is never touched.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import process from 'node:process';

export default function globalSetup() {
  const root = resolve(import.meta.dirname, '..', '..', '..');
  execFileSync(join(root, 'hack', 'cluster-up.sh'), [], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PATH: `${join(root, '.tools', 'bin')}:${process.env.PATH ?? ''}`,
      IMPRIMATUR_STATE_DIR: process.env.IMPRIMATUR_E2E_STATE_DIR ?? join(root, '.e2e'),
    },
    timeout: 240_000,
  });
}
