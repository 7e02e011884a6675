// What the e2e suites share about policies: installing the CRDs, and reading a policy's Ready condition.
import { join } from 'node:path';
import { ROOT, type Environment } from './environment.js';

/** The seed document's public key. */
export const SEED_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Applies crds/ with kubectl and waits until the API server serves both kinds. */
export async function installCrds(env: Environment): Promise<void> {
  const install = await env.kubectl(['apply', '--server-side', '-k', join(ROOT, 'crds')]);
  if (install.code !== 0) throw new Error(`kubectl apply -k crds failed: ${install.stderr}`);
  // kubectl wait fails at once, rather than waiting, while a CRD just created has no status.conditions yet
  // ("accessor error: <nil> is of the type <nil>"): ask again until it has them.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const established = await env.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/clusterpolicies.kyverno.io',
      'crd/policies.kyverno.io',
    ]);
    if (established.code === 0) return;
    if (!established.stderr.includes('accessor error') || Date.now() > deadline) {
      throw new Error(`the CRDs were not established: ${established.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The policy's Ready condition, once it speaks of the current generation; undefined before that. */
export async function readyCondition(
  env: Environment,
  kind: string,
  name: string,
  namespace?: string,
): Promise<Condition | undefined> {
  const got = await env.kubectl(['get', kind, name, '-o', 'json', ...(namespace ? ['-n', namespace] : [])]);
  if (got.code !== 0) return undefined;
  const obj = JSON.parse(got.stdout) as { metadata: { generation: number }; status?: { conditions?: Condition[] } };
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return ready && ready.observedGeneration === obj.metadata.generation ? ready : undefined;
}
