// Runs the admission path on synthetic reviews before the webhook says it is ready, so that the first admissions of
// a new replica (a start, a rollout, a scale-up) are as fast as later ones. A fresh process pays for every code path
// once: module initialisation, V8's inline caches and compilation, the first key import and signature check, the
// first JSON Patch. Measured here before this warm-up: the first 30 admissions after a start added p50 +8.9 ms and
// p99 +20.5 ms, against +3.8 ms and +5.6 ms once warm.
//
// Nothing here touches the cluster or another host: the policies are compiled from text in this file, the registry
// is the warm-up's own on loopback (warm-up-registry.ts: images signed by a key made for the purpose, as cosign v3
// and v2 sign, read through the real registry client over HTTP), and the result cache is the warm-up's own. Every
// path a real admission takes is run: a Pod and a Deployment (autogen), a pass of each signature format (pinned by
// patch), a cache hit, a denial (no signature), the Ignore and validating webhooks, review decoding and response
// encoding.
import { generateKeyPairSync } from 'node:crypto';
import { VerificationCache } from '../pkg/cache/index.js';
import type { Logger } from '../pkg/log/index.js';
import { RegistryClient } from '../pkg/oci/index.js';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { VALIDATED_IMAGES_ANNOTATIONS } from '../pkg/validated-images/index.js';
import { handleMutate } from './mutate.js';
import { toReview } from './responses.js';
import { handleValidate } from './validate.js';
import type { PassCache } from './verify-images.js';
import { startWarmUpRegistry, type WarmUpImage } from './warm-up-registry.js';

/**
 * Rounds of the synthetic admissions: enough for V8's optimising compiler to take the hot functions (a few hundred
 * calls), a fraction of a second of CPU.
 */
export const WARM_UP_ROUNDS = 200;
/** Of those, the first that verify afresh every other round. */
const FRESH_ROUNDS = 40;

export interface WarmUpResult {
  readonly rounds: number;
  readonly ms: number;
  /** What the synthetic admissions answered, in the last round: the path each must take. */
  readonly answers: {
    readonly signed: string;
    readonly legacy: string;
    readonly unsigned: string;
    readonly deployment: string;
  };
}

/** Runs WARM_UP_ROUNDS of synthetic admissions; never throws (a failure is logged, and readiness goes on). */
/**
 * `admissionLog` takes the synthetic admissions' own lines: the operator passes one at its level that writes them
 * nowhere, so that the logging path is warmed too without a thousand lines about reviews nobody sent.
 */
export async function warmUpAdmission(
  log: Logger,
  rounds = WARM_UP_ROUNDS,
  admissionLog: Logger = log,
): Promise<WarmUpResult | undefined> {
  const started = performance.now();
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let server: Awaited<ReturnType<typeof startWarmUpRegistry>> | undefined;
  // Its own client, of the class the webhook's is: the same code is compiled (its connections end with the server).
  const registry = new RegistryClient({ plainHttpForLoopback: true, userAgent: 'imprimatur-warm-up' });
  try {
    server = await startWarmUpRegistry(keys.privateKey);
    const host = server.host;
    const policies = compilePolicies(host, keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const cache: PassCache = new VerificationCache({ now: Date.now });
    let answers: WarmUpResult['answers'] = { signed: '', legacy: '', unsigned: '', deployment: '' };
    for (let round = 0; round < rounds; round++) {
      // The first rounds verify afresh every other time, through the registry (a few dozen compile that path and its
      // HTTP client, at some milliseconds each); all the others are answered from the cache, the path a busy
      // webhook takes most, which V8 optimises after a few hundred calls.
      const deps = {
        policies: () => policies,
        registry,
        log: admissionLog,
        now: () => performance.now(),
        // As the operator's webhooks do: the validating checks run in /mutate, which records what passed them.
        validatedImagesAnnotation: VALIDATED_IMAGES_ANNOTATIONS.Fail,
        ...(round % 2 === 1 || round >= FRESH_ROUNDS ? { cache } : {}),
      };
      const signed = await handleMutate(review(host, 'Pod', 'signed'), deps);
      const legacy = await handleMutate(review(host, 'Pod', 'legacy'), deps);
      // A denial is never cached, so each asks the registry again: only the first rounds deny (a few dozen
      // compile that path; hundreds would only grow the heap on registry requests).
      const unsigned =
        round < FRESH_ROUNDS || round === rounds - 1
          ? await handleMutate(review(host, 'Pod', 'unsigned'), { ...deps, keepOtherPoliciesVerifications: true })
          : undefined;
      const deployment = await handleMutate(review(host, 'Deployment', 'signed'), deps);
      await handleValidate(review(host, 'Pod', 'signed'), {
        policies: () => policies,
        log: admissionLog,
        now: deps.now,
      });
      for (const response of [signed, legacy, unsigned, deployment]) {
        if (response) JSON.stringify(toReview(response));
      }
      answers = {
        signed: describe(signed),
        legacy: describe(legacy),
        unsigned: unsigned ? describe(unsigned) : answers.unsigned,
        deployment: describe(deployment),
      };
    }
    const result = { rounds, ms: Math.round(performance.now() - started), answers };
    log.info('admission path warmed up', result);
    return result;
  } catch (e) {
    log.warn('admission warm-up failed; the first admissions will be slower', { error: (e as Error).message });
    return undefined;
  } finally {
    await server?.close();
  }
}

function describe(response: { allowed: boolean; patch?: string }): string {
  return response.allowed ? (response.patch ? 'patched' : 'allowed') : 'denied';
}

/** A review as the API server sends it, decoded from its JSON as a real one is. */
function review(host: string, kind: 'Pod' | 'Deployment', image: WarmUpImage): AdmissionRequest {
  const container = { name: 'app', image: `${host}/team/${image}:v1` };
  const spec = { containers: [container] };
  const object =
    kind === 'Pod'
      ? { apiVersion: 'v1', kind, metadata: { name: 'warm-up', namespace: 'default' }, spec }
      : {
          apiVersion: 'apps/v1',
          kind,
          metadata: { name: 'warm-up', namespace: 'default' },
          spec: { selector: { matchLabels: { app: 'w' } }, template: { metadata: { labels: { app: 'w' } }, spec } },
        };
  const text = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-000000000000',
      kind: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', kind },
      resource: {
        group: kind === 'Pod' ? '' : 'apps',
        version: 'v1',
        resource: kind === 'Pod' ? 'pods' : 'deployments',
      },
      namespace: 'default',
      name: 'warm-up',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:default:warm-up', groups: ['system:authenticated'] },
      object,
      dryRun: true,
    },
  });
  const decoded = decodeAdmissionReview(JSON.parse(text));
  if (!decoded.ok) throw new Error(`bug: the warm-up review does not decode: ${decoded.error}`);
  return decoded.value.request;
}

/** The synthetic policies, compiled as the operator compiles, over the warm-up registry's images. */
function compilePolicies(host: string, publicKeys: string): CompiledPolicy[] {
  return (['Fail', 'Ignore'] as const).map((failurePolicy) => {
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: {
        name: `warm-up-${failurePolicy.toLowerCase()}`,
        uid: `warm-up-${failurePolicy}`,
        resourceVersion: '1',
      },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy,
        rules: [
          {
            name: 'check-image',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            verifyImages: [
              {
                imageReferences: [`${host}/*`],
                attestors: [{ entries: [{ keys: { publicKeys, rekor: { ignoreTlog: true } } }] }],
              },
            ],
          },
        ],
      },
    });
    if (!compiled.ok) throw new Error(`bug: the warm-up policy does not compile: ${compiled.error[0]?.message}`);
    return compiled.value;
  });
}
