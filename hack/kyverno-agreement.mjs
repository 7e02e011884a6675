// The agreement table of make bench-kyverno: the same verifyImages ClusterPolicies and the same objects, admitted by
// Kyverno (the reference, tools/versions.env KYVERNO) and by Imprimatur in turn on one local cluster, and their answers
// side by side. Each case is a policy, an object (Pod, Deployment, CronJob, Job, StatefulSet) and the images it names;
// its outcome is "deny" or the images the object was admitted with (pinned to a digest, or as written). Each case says
// what each tool is expected to answer; where the two differ on purpose the case says why (a choice Imprimatur
// documents, or a Kyverno defect it does not copy, with the Kyverno source or issue). The report marks every case
// "agree", "deliberate difference" or "UNEXPECTED" (an answer other than the one expected, or a disagreement nobody
// declared).
//
// How a case runs: `kubectl create --dry-run=server -o json` of the object in a namespace both tools' webhooks watch,
// so the mutating and validating webhooks are called and nothing is stored. Images are pushed to the cluster's olareg
// (referrers API) and distribution (none) with random content and signed or attested by the real cosign v2 and v3
// CLIs with local keys, never logged (--tlog-upload=false); every policy says rekor.ignoreTlog and ctlog.ignoreSCT,
// so neither tool needs the network. One tool runs at a time, with its own CRDs (both define
// clusterpolicies.kyverno.io and both write its status): Imprimatur first, then Kyverno; each policy is applied,
// waited for (Ready=True and the tool's resource webhooks registered for the object kinds), used by its cases, and
// deleted. A run takes about 2.5 minutes once the cluster is up.
//
// Usage (a cluster of hack/cluster-up.sh, under the e2e lock, stopped in the same command):
//   flock /tmp/imprimatur-e2e.lock bash -c 'IMPRIMATUR_STATE_DIR=/tmp/agree-state hack/cluster-up.sh &&
//     node hack/kyverno-agreement.mjs --state /tmp/agree-state; IMPRIMATUR_STATE_DIR=/tmp/agree-state hack/cluster-down.sh'
//   --state DIR   the cluster's state folder (required)
//   --out PREFIX  writes PREFIX.json and PREFIX.md (default test-results/kyverno-agreement)
//   --tool NAME   run only `imprimatur` or only `kyverno` (the other column reads "not run"); both by default
// Exits 1 when a case is UNEXPECTED. Needs bin/imprimatur (make build) and .tools/bin/kyverno
// (hack/install-tools.sh kyverno). As a module: runAgreement(cluster, { work, logDir, out }), cluster from
// clusterEnv() of hack/bench-support.mjs.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  bin,
  clusterEnv,
  eventually,
  installOurCrds,
  must,
  pool,
  ROOT,
  round,
  startImprimatur,
} from './bench-support.mjs';
import { installKyvernoCrds, removeKyvernoWebhooks, startKyverno } from './kyverno-local.mjs';

const NAMESPACE = 'kyverno-agreement';
/** Kyverno's webhooks are kept to namespaces with this label (kyverno-local.mjs); Imprimatur's watch every one. */
const SELECTOR = 'imprimatur.io/kyverno-agreement=true';
const KYVERNO_VERSION = /^KYVERNO=(\S+)$/m.exec(readFileSync(join(ROOT, 'tools', 'versions.env'), 'utf8'))[1];
const PREDICATES = join(ROOT, 'test', 'e2e', 'testdata', 'predicates');
const CODE_REVIEW = 'https://example.com/CodeReview/v1';
/** A registry nobody answers on. */
const UNREACHABLE = '127.0.0.1:1';
/** Cases in flight at once: enough to keep the run short, few enough not to load a two-core machine. */
const PARALLEL_CASES = 4;

// ---------------------------------------------------------------------------------------------------------------
// The images: pushed once, shared by both tools' turns. `sign` and `attest` list what is done to each, in order,
// as [layout, key(, predicate)]. Layouts: `v2` is cosign v2 (legacy .sig/.att simple signing in the `sha256-<hex>`
// tags), `v3` is cosign v3's default (a Sigstore bundle attached through the referrers API), `v3-legacy` is cosign v3
// with --new-bundle-format=false (the v2 layout, written by v3).

const IMAGES = {
  signedV2: { repo: 'agree/signed-v2', sign: [['v2', 'k1']] },
  signedV3: { repo: 'agree/signed-v3', sign: [['v3', 'k1']] },
  signedV3Legacy: { repo: 'agree/signed-v3-legacy', sign: [['v3-legacy', 'k1']] },
  unsigned: { repo: 'agree/unsigned' },
  otherKey: { repo: 'agree/other-key', sign: [['v2', 'k2']] },
  otherKeyV3: { repo: 'agree/other-key-v3', sign: [['v3', 'k2']] },
  twoKeys: {
    repo: 'agree/two-keys',
    sign: [
      ['v2', 'k1'],
      ['v2', 'k2'],
    ],
  },
  reviewedV2: { repo: 'agree/reviewed-v2', attest: [['v2', 'k1', 'code-review.json']] },
  unreviewedV2: { repo: 'agree/unreviewed-v2', attest: [['v2', 'k1', 'code-review-unreviewed-branch.json']] },
  reviewedV3Legacy: { repo: 'agree/reviewed-v3-legacy', attest: [['v3-legacy', 'k1', 'code-review.json']] },
  reviewedV3: { repo: 'agree/reviewed-v3', attest: [['v3', 'k1', 'code-review.json']] },
  unreviewedV3: { repo: 'agree/unreviewed-v3', attest: [['v3', 'k1', 'code-review-unreviewed-branch.json']] },
  outside: { repo: 'elsewhere/unsigned' },
  // The same layouts in distribution, which has no referrers API: cosign v3 puts its bundle under the referrers tag
  // scheme (sha256-<hex>) there, and readers fall back to it.
  distV2: { registry: 'REGISTRY_NOREFERRERS', repo: 'agree/dist-signed-v2', sign: [['v2', 'k1']] },
  distV3: { registry: 'REGISTRY_NOREFERRERS', repo: 'agree/dist-signed-v3', sign: [['v3', 'k1']] },
  // Nothing listens on port 1: every registry request is refused at once, which both tools count as an error (not
  // a failed verification), so the policy's failurePolicy decides.
  unreachable: { fixed: `${UNREACHABLE}/agree/app` },
};

/** cosign's flags for each layout: never logged (so no Rekor is asked) and, for v3, no signing config fetched. */
const LAYOUTS = {
  v2: { cosign: 'cosign2', flags: ['--tlog-upload=false'] },
  v3: { cosign: 'cosign', flags: ['--use-signing-config=false', '--tlog-upload=false'] },
  'v3-legacy': {
    cosign: 'cosign',
    flags: ['--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=false'],
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The policies. Every one is Enforce unless it says Audit, failurePolicy Fail, background off, matches Pods in the
// test namespace (so autogen adds the controllers, as Kyverno's default does), one rule named `verify`.

/** A key attestor that needs no network: no transparency log, no SCT. */
const keyAttestor = (pem) => ({ keys: { publicKeys: pem, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } });

function codeReviewAttestation(pem) {
  return {
    type: CODE_REVIEW,
    attestors: [{ entries: [keyAttestor(pem)] }],
    conditions: [
      {
        all: [
          { key: '{{ repo.uri }}', operator: 'Equals', value: 'https://github.com/example/my-project' },
          { key: '{{ repo.branch }}', operator: 'Equals', value: 'main' },
        ],
      },
    ],
  };
}

/** name → { summary, entries, action?, annotations?, waitKinds? }, for the registry `reg` and the public keys `pem`. */
function policySpecs(reg, reg2, pem) {
  const agree = [`${reg}/agree/*`];
  const by = (...keys) => [{ entries: keys.map((k) => keyAttestor(pem[k])) }];
  return {
    keyed: {
      summary: 'key k1, type Cosign (default), imageReferences REG/agree/*, REG2/agree/* and UNREACHABLE/*',
      entries: [{ imageReferences: [...agree, `${reg2}/agree/*`, `${UNREACHABLE}/*`], attestors: by('k1') }],
    },
    bundle: {
      summary: 'key k1, type SigstoreBundle, imageReferences REG/agree/* and REG2/agree/*',
      entries: [{ type: 'SigstoreBundle', imageReferences: [...agree, `${reg2}/agree/*`], attestors: by('k1') }],
    },
    'any-of-two': {
      summary: 'count 1 of [k3, k1]',
      entries: [
        { imageReferences: agree, attestors: [{ count: 1, entries: [keyAttestor(pem.k3), keyAttestor(pem.k1)] }] },
      ],
    },
    'two-of-three': {
      summary: 'count 2 of [k1, k2, k3]',
      entries: [
        {
          imageReferences: agree,
          attestors: [{ count: 2, entries: ['k1', 'k2', 'k3'].map((k) => keyAttestor(pem[k])) }],
        },
      ],
    },
    'all-of-two': {
      summary: '[k1, k2], no count (all must verify)',
      entries: [{ imageReferences: agree, attestors: by('k1', 'k2') }],
    },
    audit: {
      summary: 'validationFailureAction Audit, key k1, mutateDigest false',
      action: 'Audit',
      entries: [{ imageReferences: agree, attestors: by('k1'), mutateDigest: false }],
    },
    'entry-audit': {
      summary: 'Enforce, but the entry says failureAction Audit; mutateDigest and verifyDigest false',
      entries: [
        {
          imageReferences: agree,
          failureAction: 'Audit',
          attestors: by('k1'),
          mutateDigest: false,
          verifyDigest: false,
        },
      ],
    },
    skip: {
      summary: 'key k1, skipImageReferences REG/agree/unsigned*',
      entries: [{ imageReferences: agree, skipImageReferences: [`${reg}/agree/unsigned*`], attestors: by('k1') }],
    },
    'skip-no-pin': {
      summary: 'key k1, skipImageReferences REG/agree/unsigned*, mutateDigest false (verifyDigest true)',
      entries: [
        {
          imageReferences: agree,
          skipImageReferences: [`${reg}/agree/unsigned*`],
          attestors: by('k1'),
          mutateDigest: false,
        },
      ],
    },
    attest: {
      summary: 'attestations: CodeReview by k1, conditions repo.uri and repo.branch == main (type Cosign)',
      entries: [{ imageReferences: agree, attestations: [codeReviewAttestation(pem.k1)] }],
    },
    'attest-bundle': {
      summary: 'attestations as `attest`, type SigstoreBundle',
      entries: [{ type: 'SigstoreBundle', imageReferences: agree, attestations: [codeReviewAttestation(pem.k1)] }],
    },
    'no-mutate': {
      summary: 'key k1, mutateDigest false (verifyDigest true by default)',
      entries: [{ imageReferences: agree, attestors: by('k1'), mutateDigest: false }],
    },
    'no-mutate-no-verify': {
      summary: 'key k1, mutateDigest false, verifyDigest false',
      entries: [{ imageReferences: agree, attestors: by('k1'), mutateDigest: false, verifyDigest: false }],
    },
    'pin-only': {
      summary: 'no attestors: only pins digests; required false',
      entries: [{ imageReferences: agree, required: false }],
    },
    'pin-required': {
      summary: 'no attestors, required true (default)',
      entries: [{ imageReferences: agree }],
    },
    'not-required': {
      summary: 'key k1, required false',
      entries: [{ imageReferences: agree, attestors: by('k1'), required: false }],
    },
    'autogen-none': {
      summary: 'key k1, annotation pod-policies.kyverno.io/autogen-controllers: none',
      annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' },
      entries: [{ imageReferences: agree, attestors: by('k1') }],
      // No rule for Deployments, so no webhook for them to wait for.
      waitKinds: ['Pod'],
    },
    'two-entries': {
      summary: 'two entries over REG/agree/*: the first with key k1, the second with key k2 (both must pass)',
      entries: [
        { imageReferences: agree, attestors: by('k1') },
        { imageReferences: agree, attestors: by('k2') },
      ],
    },
    'two-entries-reversed': {
      summary: 'two entries over REG/agree/*: the first with key k2, the second with key k1',
      entries: [
        { imageReferences: agree, attestors: by('k2') },
        { imageReferences: agree, attestors: by('k1') },
      ],
    },
    'entry-scope': {
      summary:
        'entry 1: REG/agree/* with key k1 (mutateDigest true); entry 2: REG/elsewhere/*, no attestors, ' +
        'mutateDigest, verifyDigest and required false',
      entries: [
        { imageReferences: agree, attestors: by('k1') },
        {
          imageReferences: [`${reg}/elsewhere/*`],
          mutateDigest: false,
          verifyDigest: false,
          required: false,
        },
      ],
    },
    'unreachable-ignore': {
      summary: 'failurePolicy Ignore, key k1, imageReferences UNREACHABLE/*',
      failurePolicy: 'Ignore',
      entries: [{ imageReferences: [`${UNREACHABLE}/*`], attestors: by('k1') }],
    },
    'unreachable-ignore-lenient': {
      summary:
        'failurePolicy Ignore, key k1, imageReferences UNREACHABLE/*, mutateDigest, verifyDigest, required false',
      failurePolicy: 'Ignore',
      entries: [
        {
          imageReferences: [`${UNREACHABLE}/*`],
          attestors: by('k1'),
          mutateDigest: false,
          verifyDigest: false,
          required: false,
        },
      ],
    },
    'tag-pattern': {
      summary: 'key k1, imageReferences REG/agree/unsigned:v1 (a tag in the pattern)',
      entries: [{ imageReferences: [`${reg}/agree/unsigned:v1`], attestors: by('k1') }],
    },
  };
}

function policyObject(name, spec) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: `agree-${name}`, ...(spec.annotations ? { annotations: spec.annotations } : {}) },
    spec: {
      validationFailureAction: spec.action ?? 'Enforce',
      background: false,
      failurePolicy: spec.failurePolicy ?? 'Fail',
      webhookTimeoutSeconds: 20,
      rules: [
        {
          name: 'verify',
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: spec.entries,
        },
      ],
    },
  };
}

/** Kyverno registers its validating webhook (verifyDigest, required) only for entries with either true (the default). */
const needsValidation = (spec) => spec.entries.some((e) => e.verifyDigest !== false || e.required !== false);

// ---------------------------------------------------------------------------------------------------------------
// The cases. `containers` and `init` name images of IMAGES as tag(x) (repo:v1), digest(x) (repo@sha256:…) or
// tagDigest(x) (repo:v1@sha256:…). `expect` is what both tools should answer, or { kyverno, imprimatur } when they
// differ on purpose (then `difference` says why): 'deny', 'pin' (every image admitted as repo:v1@digest, as written
// when it had a digest already), 'keep' (every image admitted as written), or one of 'pin'/'keep' per image, init
// containers first.

const tag = (image) => ({ image, form: 'tag' });
const digest = (image) => ({ image, form: 'digest' });
const tagDigest = (image) => ({ image, form: 'tag@digest' });

const V3_TYPE_COSIGN =
  'Kyverno 1.19 reads cosign v3 bundles only with type: SigstoreBundle; with the default type Cosign it finds no ' +
  'signature. Imprimatur reads every layout cosign writes under type Cosign (README: "a cosign v3 bundle verifies ' +
  'under the default type: Cosign").';
const TAG_PATTERN =
  'Kyverno matches imageReferences against registry/path@digest with the tag dropped when the image has a digest, ' +
  'so repo:v1@digest escapes the pattern repo:v1 and is admitted unverified. Imprimatur matches a pattern with a tag ' +
  'against repo:tag@digest too (README: "a pattern with a tag also matches repo:tag@digest").';
const ENTRY_CACHE =
  'Kyverno keys its verification cache by policy, rule and image, not by entry (pkg/image/verification/cache ' +
  'generateKey), so once entry 1 has passed the image, entry 2 (key k2) is answered "verified from cache" in the ' +
  'same admission and never checked. Imprimatur keys passes by entry too (README: "by policy version, rule, entry ' +
  'and the image") and checks k2.';
const ENTRY_SCOPE =
  "Kyverno applies an entry's mutateDigest to every image of the rule, whether that entry names it or not " +
  '(kyverno#11167): entry 1 pins REG/elsewhere/unsigned although only entry 2 names it, with mutateDigest false. ' +
  'Imprimatur pins only the images an entry with mutateDigest names.';
const SKIP_PIN =
  'Kyverno pins every image an entry matches, after verifying it whatever the answer, so a skipped image is pinned ' +
  'too (one more registry lookup, for an image the policy says not to check). Imprimatur leaves a skipped image as ' +
  'written and its validating webhook does not ask it for a digest when the entry pins digests (webhook/validate.ts), ' +
  'so both admit it; only the stored reference differs.';

const CASES = [
  // Signed, unsigned, other key; the signature layouts.
  {
    id: 'signed-v2',
    policy: 'keyed',
    covers: 'cosign v2 .sig by k1, by tag',
    containers: [tag('signedV2')],
    expect: 'pin',
  },
  {
    id: 'signed-v3-legacy',
    policy: 'keyed',
    covers: 'cosign v3 --new-bundle-format=false (.sig) by k1',
    containers: [tag('signedV3Legacy')],
    expect: 'pin',
  },
  {
    id: 'signed-v3-bundle-type-cosign',
    policy: 'keyed',
    covers: 'cosign v3 bundle by k1, policy type Cosign',
    containers: [tag('signedV3')],
    expect: { kyverno: 'deny', imprimatur: 'pin' },
    difference: V3_TYPE_COSIGN,
  },
  { id: 'unsigned', policy: 'keyed', covers: 'no signature at all', containers: [tag('unsigned')], expect: 'deny' },
  {
    id: 'other-key',
    policy: 'keyed',
    covers: 'cosign v2 .sig by k2 only',
    containers: [tag('otherKey')],
    expect: 'deny',
  },
  {
    id: 'by-digest',
    policy: 'keyed',
    covers: 'signed image given by digest (nothing to pin)',
    containers: [digest('signedV2')],
    expect: 'keep',
  },
  {
    id: 'unsigned-by-digest',
    policy: 'keyed',
    covers: 'unsigned image given by digest',
    containers: [digest('unsigned')],
    expect: 'deny',
  },
  {
    id: 'tag-and-digest',
    policy: 'keyed',
    covers: 'signed image given as repo:v1@digest',
    containers: [tagDigest('signedV2')],
    expect: 'keep',
  },
  {
    id: 'not-matched',
    policy: 'keyed',
    covers: 'unsigned image outside imageReferences',
    containers: [tag('outside')],
    expect: 'keep',
  },
  {
    id: 'multi-signed',
    policy: 'keyed',
    covers: 'two containers, v2 and v3-legacy signatures',
    containers: [tag('signedV2'), tag('signedV3Legacy')],
    expect: 'pin',
  },
  {
    id: 'multi-one-unsigned',
    policy: 'keyed',
    covers: 'two containers, the second unsigned',
    containers: [tag('signedV2'), tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'multi-one-outside',
    policy: 'keyed',
    covers: 'signed container + unsigned one outside imageReferences',
    containers: [tag('signedV2'), tag('outside')],
    expect: ['pin', 'keep'],
  },
  {
    id: 'init-unsigned',
    policy: 'keyed',
    covers: 'unsigned initContainer, signed container',
    init: [tag('unsigned')],
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'init-signed',
    policy: 'keyed',
    covers: 'signed initContainer (v2) and container (v3-legacy)',
    init: [tag('signedV2')],
    containers: [tag('signedV3Legacy')],
    expect: 'pin',
  },
  // Autogen: the rule is written for Pods; the controllers get autogen-verify / autogen-cronjob-verify.
  {
    id: 'deployment-signed',
    policy: 'keyed',
    kind: 'Deployment',
    covers: 'autogen: Deployment, signed',
    containers: [tag('signedV2')],
    expect: 'pin',
  },
  {
    id: 'deployment-unsigned',
    policy: 'keyed',
    kind: 'Deployment',
    covers: 'autogen: Deployment, unsigned',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'cronjob-signed',
    policy: 'keyed',
    kind: 'CronJob',
    covers: 'autogen: CronJob, signed',
    containers: [tag('signedV2')],
    expect: 'pin',
  },
  {
    id: 'cronjob-unsigned',
    policy: 'keyed',
    kind: 'CronJob',
    covers: 'autogen: CronJob, unsigned',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'job-signed',
    policy: 'keyed',
    kind: 'Job',
    covers: 'autogen: Job, signed (v3-legacy)',
    containers: [tag('signedV3Legacy')],
    expect: 'pin',
  },
  {
    id: 'statefulset-unsigned',
    policy: 'keyed',
    kind: 'StatefulSet',
    covers: 'autogen: StatefulSet, unsigned',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'autogen-none-deployment',
    policy: 'autogen-none',
    kind: 'Deployment',
    covers: 'autogen-controllers none: Deployment of an unsigned image is not checked',
    containers: [tag('unsigned')],
    expect: 'keep',
  },
  {
    id: 'autogen-none-pod',
    policy: 'autogen-none',
    covers: 'autogen-controllers none: the Pod rule still applies',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  // type: SigstoreBundle.
  { id: 'bundle-v3', policy: 'bundle', covers: 'cosign v3 bundle by k1', containers: [tag('signedV3')], expect: 'pin' },
  {
    id: 'bundle-v2-sig',
    policy: 'bundle',
    covers: 'cosign v2 .sig by k1, policy type SigstoreBundle (both read bundles alone)',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  { id: 'bundle-unsigned', policy: 'bundle', covers: 'unsigned', containers: [tag('unsigned')], expect: 'deny' },
  {
    id: 'bundle-other-key',
    policy: 'bundle',
    covers: 'cosign v3 bundle by k2',
    containers: [tag('otherKeyV3')],
    expect: 'deny',
  },
  // N of M.
  {
    id: 'count1-second-key',
    policy: 'any-of-two',
    covers: 'count 1: the first key (k3) fails, the second (k1) verifies',
    containers: [tag('signedV2')],
    expect: 'pin',
  },
  {
    id: 'count2-two-keys',
    policy: 'two-of-three',
    covers: 'count 2 of 3: signed by k1 and k2',
    containers: [tag('twoKeys')],
    expect: 'pin',
  },
  {
    id: 'count2-one-key',
    policy: 'two-of-three',
    covers: 'count 2 of 3: signed by k1 only',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'all-one-key',
    policy: 'all-of-two',
    covers: 'no count (all of 2): signed by k1 only',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'all-two-keys',
    policy: 'all-of-two',
    covers: 'no count (all of 2): signed by k1 and k2',
    containers: [tag('twoKeys')],
    expect: 'pin',
  },
  // Audit.
  {
    id: 'audit-unsigned',
    policy: 'audit',
    covers: 'Audit: unsigned image admitted as written (a warning at most)',
    containers: [tag('unsigned')],
    expect: 'keep',
  },
  {
    id: 'audit-signed-no-digest',
    policy: 'audit',
    covers: 'Audit: signed, not pinned; verifyDigest fails but only audits',
    containers: [tag('signedV2')],
    expect: 'keep',
  },
  {
    id: 'entry-audit-unsigned',
    policy: 'entry-audit',
    covers: 'entry failureAction Audit overrides spec Enforce: unsigned admitted',
    containers: [tag('unsigned')],
    expect: 'keep',
  },
  // skipImageReferences.
  {
    id: 'skip-unsigned',
    policy: 'skip',
    covers: 'unsigned image in skipImageReferences (mutateDigest true)',
    containers: [tag('unsigned')],
    expect: { kyverno: 'pin', imprimatur: 'keep' },
    difference: SKIP_PIN,
  },
  {
    id: 'skip-mixed',
    policy: 'skip',
    covers: 'signed container + skipped unsigned container',
    containers: [tag('signedV2'), tag('unsigned')],
    expect: { kyverno: 'pin', imprimatur: ['pin', 'keep'] },
    difference: SKIP_PIN,
  },
  {
    id: 'skip-other-key',
    policy: 'skip',
    covers: 'other-key image not in skipImageReferences',
    containers: [tag('otherKey')],
    expect: 'deny',
  },
  {
    id: 'skip-no-pin-unsigned',
    policy: 'skip-no-pin',
    covers: 'skipped image, mutateDigest false: verifyDigest still wants a digest',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'skip-no-pin-by-digest',
    policy: 'skip-no-pin',
    covers: 'skipped image given by digest, mutateDigest false',
    containers: [digest('unsigned')],
    expect: 'keep',
  },
  // Attestations with conditions.
  {
    id: 'attest-pass-v2',
    policy: 'attest',
    covers: 'cosign v2 .att CodeReview, conditions pass',
    containers: [tag('reviewedV2')],
    expect: 'pin',
  },
  {
    id: 'attest-fail-v2',
    policy: 'attest',
    covers: 'cosign v2 .att CodeReview, branch condition fails',
    containers: [tag('unreviewedV2')],
    expect: 'deny',
  },
  {
    id: 'attest-pass-v3-legacy',
    policy: 'attest',
    covers: 'cosign v3 --new-bundle-format=false .att, conditions pass',
    containers: [tag('reviewedV3Legacy')],
    expect: 'pin',
  },
  {
    id: 'attest-missing',
    policy: 'attest',
    covers: 'signed but not attested',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'attest-bundle-pass',
    policy: 'attest-bundle',
    covers: 'cosign v3 bundle attestation, type SigstoreBundle, conditions pass',
    containers: [tag('reviewedV3')],
    expect: 'pin',
  },
  {
    id: 'attest-bundle-fail',
    policy: 'attest-bundle',
    covers: 'cosign v3 bundle attestation, type SigstoreBundle, branch condition fails',
    containers: [tag('unreviewedV3')],
    expect: 'deny',
  },
  // verifyDigest, mutateDigest, required.
  {
    id: 'no-mutate-tag',
    policy: 'no-mutate',
    covers: 'mutateDigest false, verifyDigest true: signed image by tag has no digest',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'no-mutate-digest',
    policy: 'no-mutate',
    covers: 'mutateDigest false, verifyDigest true: signed image by digest',
    containers: [digest('signedV2')],
    expect: 'keep',
  },
  {
    id: 'no-mutate-no-verify',
    policy: 'no-mutate-no-verify',
    covers: 'mutateDigest false, verifyDigest false: signed image by tag',
    containers: [tag('signedV2')],
    expect: 'keep',
  },
  {
    id: 'pin-only',
    policy: 'pin-only',
    covers: 'no attestors, required false: unsigned image only pinned',
    containers: [tag('unsigned')],
    expect: 'pin',
  },
  {
    id: 'pin-required',
    policy: 'pin-required',
    covers: 'no attestors, required true: nothing records it verified',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'not-required-unsigned',
    policy: 'not-required',
    covers: 'required false does not stop the signature check',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'not-required-signed',
    policy: 'not-required',
    covers: 'required false, signed',
    containers: [tag('signedV2')],
    expect: 'pin',
  },
  // Several entries in one rule.
  {
    id: 'two-entries-first-key',
    policy: 'two-entries',
    covers: 'entries [k1], [k2]: signed by k1 only',
    containers: [tag('signedV2')],
    expect: { kyverno: 'pin', imprimatur: 'deny' },
    difference: ENTRY_CACHE,
  },
  {
    id: 'two-entries-both-keys',
    policy: 'two-entries',
    covers: 'entries [k1], [k2]: signed by k1 and k2',
    containers: [tag('twoKeys')],
    expect: 'pin',
  },
  {
    id: 'two-entries-reversed',
    policy: 'two-entries-reversed',
    covers: 'entries [k2], [k1]: signed by k1 only',
    containers: [tag('signedV2')],
    expect: 'deny',
  },
  {
    id: 'entry-scope',
    policy: 'entry-scope',
    covers: 'signed image of entry 1 + unsigned image of entry 2 (which neither verifies nor pins)',
    containers: [tag('signedV2'), tag('outside')],
    expect: { kyverno: ['pin', 'pin'], imprimatur: ['pin', 'keep'] },
    difference: ENTRY_SCOPE,
  },
  // A registry without the referrers API.
  {
    id: 'dist-signed-v2',
    policy: 'keyed',
    covers: 'distribution (no referrers API): cosign v2 .sig by k1',
    containers: [tag('distV2')],
    expect: 'pin',
  },
  {
    id: 'dist-bundle-v3',
    policy: 'bundle',
    covers: 'distribution (no referrers API): cosign v3 bundle by k1, type SigstoreBundle',
    containers: [tag('distV3')],
    expect: 'pin',
  },
  // A registry that cannot be reached: an error, which failurePolicy decides.
  {
    id: 'unreachable-fail',
    policy: 'keyed',
    covers: 'registry refuses connections, failurePolicy Fail',
    containers: [tag('unreachable')],
    expect: 'deny',
  },
  {
    id: 'unreachable-ignore',
    policy: 'unreachable-ignore',
    covers: 'registry refuses connections, failurePolicy Ignore: the validating webhook still wants a digest',
    containers: [tag('unreachable')],
    expect: 'deny',
  },
  {
    id: 'unreachable-ignore-lenient',
    policy: 'unreachable-ignore-lenient',
    covers: 'registry refuses connections, failurePolicy Ignore, verifyDigest and required false',
    containers: [tag('unreachable')],
    expect: 'keep',
  },
  // A tag in imageReferences.
  {
    id: 'tag-pattern-tag',
    policy: 'tag-pattern',
    covers: 'pattern repo:v1, unsigned image repo:v1',
    containers: [tag('unsigned')],
    expect: 'deny',
  },
  {
    id: 'tag-pattern-tag-digest',
    policy: 'tag-pattern',
    covers: 'pattern repo:v1, unsigned image repo:v1@digest',
    containers: [tagDigest('unsigned')],
    expect: { kyverno: 'keep', imprimatur: 'deny' },
    difference: TAG_PATTERN,
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Preparing the images and keys.

function cosignEnv(cluster) {
  return { DOCKER_CONFIG: cluster.vars.REGISTRY_DOCKER_CONFIG, COSIGN_PASSWORD: 'agreement', COSIGN_YES: 'true' };
}

/** Keys k1, k2, k3 in `work`; returns their public PEMs. */
async function makeKeys(cluster, work) {
  const pem = {};
  for (const k of ['k1', 'k2', 'k3']) {
    await must(bin('cosign'), ['generate-key-pair', '--output-key-prefix', join(work, k)], cosignEnv(cluster));
    pem[k] = readFileSync(join(work, `${k}.pub`), 'utf8').trim();
  }
  return pem;
}

/** Pushes each image (one random layer, tag v1) and signs or attests it; returns name → { name, digest }. */
function registryOf(cluster, spec) {
  const host = cluster.vars[spec.registry ?? 'REGISTRY'];
  if (!host) throw new Error(`the cluster has no ${spec.registry}: start it with hack/cluster-up.sh (not --minimal)`);
  return host;
}

async function makeImages(cluster, work) {
  const env = cosignEnv(cluster);
  const entries = await pool(Object.entries(IMAGES), 4, async ([id, spec]) => {
    if (spec.fixed) return [id, { name: spec.fixed }];
    const dir = mkdtempSync(join(work, 'img-'));
    writeFileSync(join(dir, 'blob'), randomBytes(2048));
    await must('tar', ['-C', dir, '-cf', join(dir, 'layer.tar'), 'blob']);
    const pushed = (
      await must(
        bin('crane'),
        [
          'append',
          '--oci-empty-base',
          '-f',
          join(dir, 'layer.tar'),
          '-t',
          `${registryOf(cluster, spec)}/${spec.repo}:v1`,
        ],
        env,
      )
    ).trim();
    // One after the other: two signatures of one image rewrite the same .sig manifest.
    for (const [layout, key] of spec.sign ?? []) {
      const { cosign, flags } = LAYOUTS[layout];
      await must(bin(cosign), ['sign', '--key', join(work, `${key}.key`), ...flags, pushed], env);
    }
    for (const [layout, key, predicate] of spec.attest ?? []) {
      const { cosign, flags } = LAYOUTS[layout];
      await must(
        bin(cosign),
        [
          'attest',
          ...['--key', join(work, `${key}.key`), ...flags],
          ...['--type', CODE_REVIEW, '--predicate', join(PREDICATES, predicate), pushed],
        ],
        env,
      );
    }
    const [name, sha] = pushed.split('@');
    return [id, { name, digest: sha }];
  });
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------------------------
// The objects and their outcomes.

/** The reference a case's container names: repo:v1, repo@sha256:… or repo:v1@sha256:…. */
function written({ image, form }, images) {
  const { name, digest: sha } = images[image];
  return form === 'tag' ? `${name}:v1` : form === 'digest' ? `${name}@${sha}` : `${name}:v1@${sha}`;
}

/** What Kyverno writes when it pins: the image as written, then @digest (nothing when it has a digest already). */
function pinned(ref, images) {
  return ref.form === 'tag' ? `${written(ref, images)}@${images[ref.image].digest}` : written(ref, images);
}

/** The case's images in the order outcomes list them: init containers first. */
const refsOf = (c) => [...(c.init ?? []), ...c.containers];

/** Where each kind keeps its Pod spec, as Kyverno's image extractors read it. */
const POD_SPEC_PATH = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const PLURAL = {
  Pod: 'pods',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
};

function objectFor(c, images) {
  const kind = c.kind ?? 'Pod';
  const name = `agree-${c.id}`;
  const podSpec = {
    ...(c.init ? { initContainers: c.init.map((r, i) => ({ name: `init${i}`, image: written(r, images) })) } : {}),
    containers: c.containers.map((r, i) => ({ name: `c${i}`, image: written(r, images) })),
    ...(kind === 'Job' || kind === 'CronJob' ? { restartPolicy: 'Never' } : {}),
  };
  const template = { metadata: { labels: { app: name } }, spec: podSpec };
  const metadata = { name, namespace: NAMESPACE };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata, spec: podSpec };
    case 'Deployment':
      return { apiVersion: 'apps/v1', kind, metadata, spec: { selector: { matchLabels: { app: name } }, template } };
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: { serviceName: name, selector: { matchLabels: { app: name } }, template },
      };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata, spec: { template } };
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata,
        spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } },
      };
    default:
      throw new Error(`no object for kind ${kind}`);
  }
}

/**
 * What kubectl's error says after "denied the request:", on one line and without the "resource … was blocked due
 * to the following policies" preamble: enough to see which check refused, kept for the reader, never compared.
 */
function denyMessage(stderr) {
  const text = stderr.split('denied the request:').slice(1).join('denied the request:');
  return text
    .replace(/resource \S+ was blocked due to the following policies/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/**
 * Creates the object with --dry-run=server: { kind: 'allow', images, warnings } with the images it would be stored
 * with (init containers first), { kind: 'deny', stage, message } when a webhook refused it, or { kind: 'error' }.
 */
async function admit(cluster, object) {
  const r = await cluster.tryKubectl(
    ['create', '--dry-run=server', '-o', 'json', '-n', NAMESPACE, '-f', '-'],
    JSON.stringify(object),
  );
  const warnings = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length).slice(0, 300));
  if (r.code === 0) {
    let spec = JSON.parse(r.stdout);
    for (const key of POD_SPEC_PATH[object.kind]) spec = spec?.[key];
    const images = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image);
    return { kind: 'allow', images, warnings };
  }
  const webhook = /admission webhook "([^"]+)" denied the request/.exec(r.stderr)?.[1];
  if (webhook) {
    return {
      kind: 'deny',
      stage: webhook.startsWith('validate') ? 'validate' : 'mutate',
      webhook,
      message: denyMessage(r.stderr),
    };
  }
  return { kind: 'error', message: r.stderr.replace(/\s+/g, ' ').trim().slice(0, 300) };
}

/** The outcome a case expects from `tool`: 'deny', or the list of images it should be admitted with. */
function expected(c, tool, images) {
  const want = typeof c.expect === 'object' && !Array.isArray(c.expect) ? c.expect[tool] : c.expect;
  if (want === 'deny') return 'deny';
  return refsOf(c).map((ref, i) => {
    const each = Array.isArray(want) ? want[i] : want;
    return each === 'pin' ? pinned(ref, images) : written(ref, images);
  });
}

function matches(outcome, want) {
  if (want === 'deny') return outcome.kind === 'deny';
  return outcome.kind === 'allow' && JSON.stringify(outcome.images) === JSON.stringify(want);
}

function sameOutcome(a, b) {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'allow' || JSON.stringify(a.images) === JSON.stringify(b.images);
}

/** An outcome in words: "deny (validate)", "allow: pinned", "allow: pinned, as written", with a warning mark. */
function describe(outcome, c, images) {
  if (!outcome) return 'not run';
  if (outcome.kind === 'deny') return `deny (${outcome.stage})`;
  if (outcome.kind === 'error') return `error: ${outcome.message}`;
  const labels = outcome.images.map((got, i) => {
    const ref = refsOf(c)[i];
    if (!ref) return got;
    if (got === written(ref, images)) return 'as written';
    if (got === pinned(ref, images)) return 'pinned';
    return got;
  });
  const unique = [...new Set(labels)];
  const warned = outcome.warnings.length > 0 ? ' (warning)' : '';
  return `allow: ${(unique.length === 1 ? unique : labels).join(', ')}${warned}`;
}

function describeExpected(want, c, images) {
  if (want === 'deny') return 'deny';
  return describe({ kind: 'allow', images: want, warnings: [] }, c, images);
}

// ---------------------------------------------------------------------------------------------------------------
// One tool's turn.

async function deletePolicies(cluster) {
  await cluster.tryKubectl(['delete', 'clusterpolicies.kyverno.io', '--all', '--wait=true', '--timeout=60s']);
  await cluster.tryKubectl([
    'delete',
    'policies.kyverno.io',
    '--all',
    '--all-namespaces',
    '--wait=true',
    '--timeout=60s',
  ]);
}

/** The resources a webhook configuration's rules name, or undefined when it does not exist. */
async function webhookResources(cluster, type, name) {
  const r = await cluster.tryKubectl(['get', type, name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const resources = new Set();
  for (const webhook of JSON.parse(r.stdout).webhooks ?? []) {
    for (const rule of webhook.rules ?? []) for (const res of rule.resources ?? []) resources.add(res);
  }
  return resources;
}

/** Waits until `name` is Ready=True: both tools write that condition once the policy is in force. */
async function waitReady(cluster, name) {
  let last = '';
  try {
    await eventually(
      async () => {
        const r = await cluster.tryKubectl(['get', 'clusterpolicy', name, '-o', 'jsonpath={.status.conditions}']);
        const ready = (r.code === 0 && r.stdout ? JSON.parse(r.stdout) : []).find((c) => c.type === 'Ready');
        last = ready ? `${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition';
        return ready?.status === 'True' || undefined;
      },
      `${name} to be Ready`,
      60_000,
    );
  } catch (e) {
    throw new Error(`${e.message} (last: ${last})`);
  }
}

/**
 * Waits until the tool's resource webhooks name every kind its cases create (and, when the policy has verifyDigest
 * or required, the validating one too). A timeout is not fatal: it is noted, and the cases show what happened.
 */
async function waitWebhooks(cluster, tool, kinds, validating) {
  const types = [['mutatingwebhookconfiguration', `${tool}-resource-mutating-webhook-cfg`]];
  if (validating) types.push(['validatingwebhookconfiguration', `${tool}-resource-validating-webhook-cfg`]);
  const wanted = kinds.map((k) => PLURAL[k]);
  try {
    await eventually(
      async () => {
        for (const [type, name] of types) {
          const have = await webhookResources(cluster, type, name);
          if (!have || !wanted.every((r) => have.has(r) || have.has('*'))) return undefined;
        }
        return true;
      },
      `${tool}'s webhooks for ${wanted.join(', ')}`,
      30_000,
    );
    return undefined;
  } catch (e) {
    return e.message;
  }
}

const TOOLS = {
  imprimatur: {
    // The operator updates its webhook configuration after Ready; the API server's webhook informer follows it.
    settleMs: 1_000,
    async start(cluster, logDir) {
      await installOurCrds(cluster);
      const operator = await startImprimatur(cluster, {
        logFile: join(logDir, 'imprimatur.log'),
        name: 'operator-agreement',
      });
      return async () => {
        await operator.stop();
        // What a stopped operator may leave registered, so that Kyverno's turn is not sent to a dead URL.
        for (const [type, name] of [
          ['mutatingwebhookconfiguration', 'imprimatur-resource-mutating-webhook-cfg'],
          ['validatingwebhookconfiguration', 'imprimatur-resource-validating-webhook-cfg'],
        ]) {
          await cluster.tryKubectl(['delete', type, name, '--ignore-not-found']);
        }
      };
    },
  },
  kyverno: {
    // Kyverno marks a policy Ready once its webhook configuration holds it; the API server and Kyverno's own policy
    // cache take a moment more.
    settleMs: 2_000,
    async start(cluster, logDir) {
      await installKyvernoCrds(cluster);
      const kyverno = await startKyverno(cluster, { logFile: join(logDir, 'kyverno.log'), selectorLabel: SELECTOR });
      return async () => {
        await kyverno.stop();
        await removeKyvernoWebhooks(cluster);
      };
    },
  },
};

function log(message) {
  process.stderr.write(`[kyverno-agreement] ${message}\n`);
}

/** Runs every case with `tool`: { outcomes: id → outcome, notes: [], seconds }. */
async function turn(cluster, tool, { specs, images, logDir }) {
  const started = performance.now();
  const outcomes = {};
  const notes = [];
  await deletePolicies(cluster);
  const stop = await TOOLS[tool].start(cluster, logDir);
  try {
    for (const [policyName, spec] of Object.entries(specs)) {
      const cases = CASES.filter((c) => c.policy === policyName);
      if (cases.length === 0) continue;
      const policy = policyObject(policyName, spec);
      const name = policy.metadata.name;
      const t0 = performance.now();
      try {
        await cluster.kubectl(['create', '-f', '-'], JSON.stringify(policy));
        await waitReady(cluster, name);
        const kinds = spec.waitKinds ?? [...new Set(cases.map((c) => c.kind ?? 'Pod'))];
        const late = await waitWebhooks(cluster, tool, kinds, needsValidation(spec));
        if (late) notes.push(`${name}: ${late}`);
        await sleep(TOOLS[tool].settleMs);
        log(`${tool}: ${name} in force after ${round((performance.now() - t0) / 1000, 1)} s; ${cases.length} cases`);
        await pool(cases, PARALLEL_CASES, async (c) => {
          const object = objectFor(c, images);
          let outcome = await admit(cluster, object);
          // A second try, a few seconds later, for an answer other than the expected one: it tells a webhook that
          // was not yet in force from a real difference. Both answers are kept.
          if (!matches(outcome, expected(c, tool, images))) {
            await sleep(3_000);
            const again = await admit(cluster, object);
            if (!sameOutcome(again, outcome)) outcome = { ...again, firstTry: outcome };
          }
          outcomes[c.id] = outcome;
        });
      } catch (e) {
        notes.push(`${name}: ${e.message}`);
        for (const c of cases)
          outcomes[c.id] ??= { kind: 'error', message: `policy ${name}: ${e.message}`.slice(0, 300) };
      } finally {
        await cluster.tryKubectl([
          'delete',
          'clusterpolicy',
          name,
          '--ignore-not-found',
          '--wait=true',
          '--timeout=60s',
        ]);
      }
    }
  } finally {
    await stop();
    await deletePolicies(cluster);
  }
  return { outcomes, notes, seconds: round((performance.now() - started) / 1000, 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// The report.

/** Replaces each public key PEM by its name, so that the report shows policies one can read. */
function withKeyNames(value, pem) {
  let text = JSON.stringify(value);
  for (const [k, p] of Object.entries(pem)) text = text.split(JSON.stringify(p).slice(1, -1)).join(`<${k}.pub>`);
  return JSON.parse(text);
}

function verdictOf(c, kyverno, imprimatur, images) {
  const wantK = expected(c, 'kyverno', images);
  const wantI = expected(c, 'imprimatur', images);
  const okK = kyverno ? matches(kyverno, wantK) : undefined;
  const okI = imprimatur ? matches(imprimatur, wantI) : undefined;
  const off = [
    okK === false ? `Kyverno expected ${describeExpected(wantK, c, images)}` : undefined,
    okI === false ? `Imprimatur expected ${describeExpected(wantI, c, images)}` : undefined,
  ].filter(Boolean);
  if (!kyverno || !imprimatur) {
    return off.length ? { verdict: 'UNEXPECTED', reason: off.join('; ') } : { verdict: 'as expected (one tool run)' };
  }
  if (off.length) return { verdict: 'UNEXPECTED', reason: off.join('; ') };
  if (sameOutcome(kyverno, imprimatur)) return { verdict: 'agree' };
  return { verdict: 'deliberate difference', reason: c.difference };
}

const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

function markdown(report) {
  const lines = [
    '# Kyverno agreement',
    '',
    `The same verifyImages ClusterPolicies and objects through Kyverno ${report.kyvernoVersion} and Imprimatur on one ` +
      'local cluster (`kubectl create --dry-run=server`), written by `hack/kyverno-agreement.mjs`.',
    '',
    `${report.summary.cases} cases: ${report.summary.agree} agree, ${report.summary.deliberate} deliberate ` +
      `differences, ${report.summary.unexpected} unexpected. Run: ${report.seconds} s (images ${report.prepareSeconds} s; ` +
      Object.entries(report.tools)
        .map(([t, r]) => `${t} ${r.ran ? `${r.seconds} s` : 'not run'}`)
        .join(', ') +
      ').',
    '',
    '| case | what it covers | Kyverno | Imprimatur | verdict |',
    '|---|---|---|---|---|',
  ];
  for (const row of report.cases) {
    const verdict = row.reason ? `${row.verdict}: ${row.reason}` : row.verdict;
    lines.push(
      `| \`${row.id}\` (${row.policy}) | ${cell(row.covers)} | ${cell(row.kyvernoText)} | ${cell(row.imprimaturText)} | ${cell(verdict)} |`,
    );
  }
  lines.push('', '## Policies', '', 'All Enforce unless said, failurePolicy Fail, rule `verify` over Pods in the test');
  lines.push(
    'namespace (autogen on), keys with `rekor.ignoreTlog` and `ctlog.ignoreSCT`. REG is olareg (referrers API),',
  );
  lines.push(`REG2 distribution (no referrers API), UNREACHABLE ${UNREACHABLE} (connections refused).`, '');
  for (const [name, p] of Object.entries(report.policies)) lines.push(`- \`agree-${name}\`: ${p.summary}`);
  const notes = Object.entries(report.tools).flatMap(([t, r]) => (r.notes ?? []).map((n) => `- ${t}: ${n}`));
  if (notes.length) lines.push('', '## Notes', '', ...notes);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the table on `cluster` (clusterEnv of hack/bench-support.mjs): images and keys in `work`, the tools' logs in
 * `logDir`, the report in `${out}.json` and `${out}.md`. Returns the report. `tools` picks the turns to run.
 */
export async function runAgreement(cluster, { work, logDir, out, tools = ['imprimatur', 'kyverno'] }) {
  const started = performance.now();
  mkdirSync(work, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  await cluster.tryKubectl(['create', 'namespace', NAMESPACE]);
  await cluster.kubectl(['label', 'namespace', NAMESPACE, SELECTOR, '--overwrite']);

  log(`pushing and signing ${Object.keys(IMAGES).length} images in ${cluster.registry}`);
  // A folder of its own: the caller's `work` may hold other benches' keys under the same names.
  const dir = mkdtempSync(join(work, 'agreement-'));
  const pem = await makeKeys(cluster, dir);
  const images = await makeImages(cluster, dir);
  const prepareSeconds = round((performance.now() - started) / 1000, 1);
  const specs = policySpecs(cluster.registry, cluster.vars.REGISTRY_NOREFERRERS, pem);

  const results = {};
  try {
    for (const tool of tools) {
      log(`${tool}: starting`);
      const t0 = performance.now();
      try {
        results[tool] = await turn(cluster, tool, { specs, images, logDir });
      } catch (e) {
        // A tool that does not start fails its column, not the other one's.
        const message = `${tool} turn failed: ${e.message}`.slice(0, 300);
        log(message);
        results[tool] = {
          outcomes: Object.fromEntries(CASES.map((c) => [c.id, { kind: 'error', message }])),
          notes: [message],
          seconds: round((performance.now() - t0) / 1000, 1),
        };
      }
      log(`${tool}: done in ${results[tool].seconds} s`);
    }
  } finally {
    // Leave the cluster as the other benches expect it: our CRDs, no policy.
    if (tools.includes('kyverno'))
      await installOurCrds(cluster).catch((e) => log(`reinstalling our CRDs: ${e.message}`));
    // The namespace stays: it holds nothing (every create was a dry run), and hack/cluster-up.sh runs no
    // kube-controller-manager, so a deleted namespace would stay Terminating and refuse the next run's objects.
  }

  const cases = CASES.map((c) => {
    const kyverno = results.kyverno?.outcomes[c.id];
    const imprimatur = results.imprimatur?.outcomes[c.id];
    return {
      id: c.id,
      policy: `agree-${c.policy}`,
      kind: c.kind ?? 'Pod',
      covers: c.covers,
      images: refsOf(c).map((r) => written(r, images)),
      expected: {
        kyverno: describeExpected(expected(c, 'kyverno', images), c, images),
        imprimatur: describeExpected(expected(c, 'imprimatur', images), c, images),
      },
      kyverno: kyverno ?? null,
      imprimatur: imprimatur ?? null,
      kyvernoText: describe(kyverno, c, images),
      imprimaturText: describe(imprimatur, c, images),
      ...verdictOf(c, kyverno, imprimatur, images),
    };
  });
  const count = (v) => cases.filter((r) => r.verdict === v).length;
  const report = {
    kyvernoVersion: KYVERNO_VERSION,
    registry: cluster.registry,
    namespace: NAMESPACE,
    seconds: round((performance.now() - started) / 1000, 1),
    prepareSeconds,
    tools: Object.fromEntries(
      ['kyverno', 'imprimatur'].map((t) => [
        t,
        results[t] ? { ran: true, seconds: results[t].seconds, notes: results[t].notes } : { ran: false },
      ]),
    ),
    summary: {
      cases: cases.length,
      agree: count('agree'),
      deliberate: count('deliberate difference'),
      unexpected: count('UNEXPECTED'),
    },
    policies: Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [
        name,
        { summary: spec.summary, policy: withKeyNames(policyObject(name, spec), pem) },
      ]),
    ),
    images: Object.fromEntries(Object.entries(images).map(([id, im]) => [id, { ...im, ...IMAGES[id] }])),
    cases,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify(report, null, 2)}\n`);
  // The markdown also rides on the returned report, for hack/bench-kyverno.mjs to print with its own tables.
  report.table = markdown(report);
  writeFileSync(`${out}.md`, report.table);
  return report;
}

async function main() {
  const { values } = parseArgs({
    options: {
      state: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'test-results', 'kyverno-agreement') },
      tool: { type: 'string' },
    },
  });
  if (!values.state) {
    process.stderr.write(
      'usage: node hack/kyverno-agreement.mjs --state DIR [--out PREFIX] [--tool imprimatur|kyverno]\n',
    );
    process.exit(2);
  }
  const tools = values.tool ? [values.tool] : ['imprimatur', 'kyverno'];
  if (!tools.every((t) => t in TOOLS)) throw new Error(`--tool: expected imprimatur or kyverno, got ${values.tool}`);
  const work = mkdtempSync(join(tmpdir(), 'kyverno-agreement-'));
  const out = resolve(values.out);
  const report = await runAgreement(clusterEnv(resolve(values.state)), {
    work,
    logDir: join(work, 'logs'),
    out,
    tools,
  });
  const { summary } = report;
  log(
    `${summary.cases} cases: ${summary.agree} agree, ${summary.deliberate} deliberate differences, ` +
      `${summary.unexpected} unexpected; ${report.seconds} s; ${out}.md (logs in ${join(work, 'logs')})`,
  );
  for (const row of report.cases.filter((r) => r.verdict === 'UNEXPECTED')) {
    log(`UNEXPECTED ${row.id}: Kyverno ${row.kyvernoText}; Imprimatur ${row.imprimaturText}; ${row.reason}`);
  }
  process.exitCode = summary.unexpected > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
