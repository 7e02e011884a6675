// The memory figure of `make bench` (issue 14): the resident size of an operator process holding 1,000 compiled
// policies in its rule cache and 10,000 passes in its result cache, against the target of 150 MiB (Kyverno's
// admission controller is given 384 MiB). Everything the running operator keeps for them is made here as it makes it:
// each policy compiled by pkg/policy from a ClusterPolicy of its own (one verifyImages rule, a key attestor of its
// own key, autogen rules for the Pod controllers), put into the RuleCache, and 10 passes per policy stored in the
// VerificationCache under the keys the webhook uses; the admission path is warmed up (webhook/warm-up.ts) and a
// few hundred admissions are answered from the caches, so that what a serving replica has compiled and allocated is
// in the figure too. The RSS is read after a full collection, once the heap has settled.
//
// Usage: node --expose-gc [the operator's flags] hack/bench-memory.mjs [--out FILE]   (after `make build`: it loads
// dist/; hack/bench.sh passes the flags bin/imprimatur runs the operator with)
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => new URL(`dist/${path}`, new URL('..', import.meta.url)).href;

const POLICIES = 1_000;
const PASSES = 10_000;
const TARGET_MIB = 150;

/** A step's change in MiB with its sign: +1.5, -0.4, 0. */
const signed = (x) => (x > 0 ? `+${x}` : `${x}`);
const mib = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function settledRss() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
  return process.memoryUsage();
}

async function main(argv) {
  const at = argv.indexOf('--out');
  const out = resolve(at >= 0 ? argv[at + 1] : join(ROOT, 'test-results', 'bench-memory.json'));
  // Every module the running operator loads (cmd/main.js imports the operator, the webhook and all of pkg/),
  // without running it: the figure's baseline is the operator's own.
  await import(dist('cmd/main.js'));
  const { compile, RuleCache } = await import(dist('pkg/policy/index.js'));
  const { VerificationCache, toCacheKey } = await import(dist('pkg/cache/index.js'));
  const { createSilentLogger } = await import(dist('pkg/log/index.js'));
  const { warmUpAdmission, handleMutate } = await import(dist('webhook/index.js'));
  const before = await settledRss();

  const ruleCache = new RuleCache({});
  const passes = new VerificationCache({ maxEntries: PASSES, ttlMs: 3_600_000, now: Date.now });
  const policies = [];
  for (let i = 0; i < POLICIES; i++) {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: `policy-${i}`, uid: `uid-${i}`, generation: 1, resourceVersion: String(1000 + i) },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy: 'Fail',
        rules: [
          {
            name: 'check-image',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [`team-${i}`] } }] },
            verifyImages: [
              {
                imageReferences: [`registry.example/team-${i}/*`],
                attestors: [{ entries: [{ keys: { publicKeys: key, rekor: { ignoreTlog: true } } }] }],
              },
            ],
          },
        ],
      },
    });
    if (!compiled.ok) throw new Error(`policy ${i}: ${JSON.stringify(compiled.error)}`);
    ruleCache.upsert(compiled.value);
    policies.push(compiled.value);
  }
  ruleCache.markWarm();
  const withPolicies = await settledRss();
  for (let n = 0; n < PASSES; n++) {
    const policy = policies[n % POLICIES];
    const image = `registry.example/team-${n % POLICIES}/app-${Math.floor(n / POLICIES)}:v1`;
    const digest = `sha256:${n.toString(16).padStart(64, '0')}`;
    await passes.getOrVerify(toCacheKey(policy, 'check-image', 0, image), async () => ({
      pass: true,
      digest,
      value: undefined,
    }));
  }
  const withPasses = await settledRss();
  const log = createSilentLogger();
  await warmUpAdmission(log);
  const warmed = await settledRss();
  // Admissions answered from the caches, as a serving replica answers them.
  const refusing = {
    resolveDigest: () => Promise.reject(new Error('the registry was asked')),
    getManifest: () => Promise.reject(new Error('the registry was asked')),
    getBlob: () => Promise.reject(new Error('the registry was asked')),
    listReferrers: () => Promise.reject(new Error('the registry was asked')),
  };
  for (let n = 0; n < 500; n++) {
    const t = n % POLICIES;
    const response = await handleMutate(
      {
        uid: `u-${n}`,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        namespace: `team-${t}`,
        name: 'p',
        operation: 'CREATE',
        userInfo: { username: 'u', groups: [] },
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: `team-${t}` },
          spec: { containers: [{ name: 'c', image: `registry.example/team-${t}/app-0:v1` }] },
        },
      },
      { policies: () => ruleCache.policies(), registry: refusing, cache: passes, log, now: () => performance.now() },
    );
    if (!response.allowed)
      throw new Error(`admission ${n} was not answered from the cache: ${response.status?.message}`);
  }
  const after = await settledRss();
  const stats = passes.stats();
  const report = {
    node: process.version,
    // The operator's own (bin/imprimatur passes them; hack/bench.sh runs this with the same).
    nodeFlags: [...new Set(process.execArgv)],
    policies: ruleCache.size,
    passes: stats.entries,
    rssMiB: mib(after.rss),
    heapUsedMiB: mib(after.heapUsed),
    // Where it goes: the modules alone, then each step's growth.
    steps: {
      modulesMiB: mib(before.rss),
      policiesMiB: mib(withPolicies.rss - before.rss),
      passesMiB: mib(withPasses.rss - withPolicies.rss),
      warmUpMiB: mib(warmed.rss - withPasses.rss),
      admissionsMiB: mib(after.rss - warmed.rss),
    },
    targetMiB: TARGET_MIB,
    pass: mib(after.rss) <= TARGET_MIB,
  };
  report.table =
    `policies  passes  RSS MiB  heap MiB  ≤${TARGET_MIB} MiB\n` +
    `${String(report.policies).padEnd(9)} ${String(report.passes).padEnd(7)} ${String(report.rssMiB).padEnd(8)} ` +
    `${String(report.heapUsedMiB).padEnd(9)} ${report.pass ? 'PASS' : 'FAIL'}\n` +
    `(modules loaded ${report.steps.modulesMiB} MiB, then ${signed(report.steps.policiesMiB)} policies, ` +
    `${signed(report.steps.passesMiB)} passes, ${signed(report.steps.warmUpMiB)} warm-up, ` +
    `${signed(report.steps.admissionsMiB)} admissions)`;
  process.stdout.write(`${report.table}\n`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`bench-memory: ${e.stack ?? e}\n`);
  return 1;
});
