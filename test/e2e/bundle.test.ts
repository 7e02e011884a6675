// Installing as operator-sdk users expect, end to end against the real kube-apiserver:
//   - `make build-installer` writes dist/install.yaml, which the API server accepts in a server dry run;
//   - hack/gen-bundle.sh (what `make bundle` runs) writes an OLM bundle that operator-verify passes with the optional
//     OperatorHub and object validators, equal to the committed bundle/ and bundle.Dockerfile, whose alm-examples the
//     API server accepts;
//   - config/rbac/role.yaml grants each verb the operator uses and no more: the operator runs with the token of a
//     ServiceAccount bound by config/rbac (so the API server refuses whatever the role lacks), through a recording
//     proxy that sees every request it makes, while it does all it does (policies, status, Events, webhook
//     registration, leader election, admissions).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createServingCertificates } from '../../pkg/tls/index.js';
import {
  eventually,
  freePort,
  loadEnvironment,
  ROOT,
  startOperator,
  TOOLS_BIN,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { runCommand } from './support/run.js';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

interface Csv extends KubeObject {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    install: {
      spec: {
        clusterPermissions?: { serviceAccountName: string; rules: PolicyRule[] }[];
        permissions?: { serviceAccountName: string; rules: PolicyRule[] }[];
        deployments: { name: string; spec: { template: { spec: { containers: { image: string }[] } } } }[];
      };
    };
  };
}

const toolEnv = { ...process.env, PATH: `${TOOLS_BIN}:${process.env['PATH'] ?? ''}` };
const run = (file: string, args: readonly string[], env: NodeJS.ProcessEnv = toolEnv) =>
  runCommand(file, args, { env, timeoutMs: 240_000 });
const yamlObjects = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
/** Every file under `dir`, as paths relative to it, sorted. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
/** (API group, resource, verb) triples, one string each, for comparing rules with requests. */
const expandRules = (rules: readonly PolicyRule[]): string[] =>
  rules.flatMap((r) =>
    (r.apiGroups ?? ['']).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g} ${res} ${v}`))),
  );

let env: Environment;
let work: string;

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-bundle-'));
  await installCrds(env);
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/**
 * A server dry run persists nothing, so the Namespace that the file would create does not exist for the objects
 * inside it: create it, and remove it afterwards. No namespace controller runs here to finish a deletion, so its
 * finalizer is cleared through the finalize subresource, as that controller would once the namespace is empty
 * (the dry run put nothing in it). Left alone if it was already there.
 */
async function withNamespace<T>(name: string, body: () => Promise<T>): Promise<T> {
  const existed = (await env.kubectl(['get', 'namespace', name])).code === 0;
  if (!existed) expect((await env.kubectl(['create', 'namespace', name])).code).toBe(0);
  try {
    return await body();
  } finally {
    if (!existed) {
      await env.kubectl(['delete', 'namespace', name, '--wait=false']);
      const got = await env.kubectl(['get', 'namespace', name, '-o', 'json']);
      if (got.code === 0) {
        const namespace = JSON.parse(got.stdout) as { spec: { finalizers?: string[] } };
        namespace.spec.finalizers = [];
        await env.kubectl(
          ['replace', '--raw', `/api/v1/namespaces/${name}/finalize`, '-f', '-'],
          JSON.stringify(namespace),
        );
      }
      await eventually(
        async () => ((await env.kubectl(['get', 'namespace', name])).code !== 0 ? true : undefined),
        `namespace ${name} to be gone`,
      );
    }
  }
}

describe('make build-installer', () => {
  it('writes dist/install.yaml, which kubectl apply --dry-run=server accepts', async () => {
    const built = await run('make', ['-C', ROOT, '--no-print-directory', 'build-installer']);
    expect(built.stderr).toContain('wrote dist/install.yaml');
    expect(built.code).toBe(0);
    const file = join(ROOT, 'dist', 'install.yaml');
    const objects = yamlObjects(readFileSync(file, 'utf8'));
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/imprimatur-system',
        'CustomResourceDefinition/clusterpolicies.kyverno.io',
        'CustomResourceDefinition/policies.kyverno.io',
        'ClusterRole/imprimatur-manager-role',
        'Service/imprimatur-webhook-service',
        'Deployment/imprimatur-controller-manager',
      ]),
    );
    const applied = await withNamespace('imprimatur-system', () =>
      env.kubectl(['apply', '--dry-run=server', '-f', file]),
    );
    expect(applied.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Warning:'))).toEqual([]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('deployment.apps/imprimatur-controller-manager created (server dry run)');
    expect(applied.stdout).toContain(
      'clusterrole.rbac.authorization.k8s.io/imprimatur-manager-role created (server dry run)',
    );
    // Every object was accepted: one line each.
    expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
  });

  it('gives the manager the image IMG names, and nothing else changes', async () => {
    const image = 'registry.example/team/imprimatur@sha256:' + 'ab'.repeat(32);
    const out = join(work, 'install.yaml');
    const built = await run(join(ROOT, 'hack', 'build-installer.sh'), [out], { ...toolEnv, IMG: image });
    expect(built.code).toBe(0);
    const objects = yamlObjects(readFileSync(out, 'utf8'));
    const deployment = objects.find(
      (o) => o.kind === 'Deployment',
    ) as Csv['spec']['install']['spec']['deployments'][0] & KubeObject;
    expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([image]);
    const other = yamlObjects(readFileSync(join(ROOT, 'dist', 'install.yaml'), 'utf8'));
    expect(objects.map((o) => o.metadata.name)).toEqual(other.map((o) => o.metadata.name));
  });
});

describe('make bundle', () => {
  let bundle: string;
  let csv: Csv;

  beforeAll(async () => {
    bundle = join(work, 'bundle');
    const generated = await run(join(ROOT, 'hack', 'gen-bundle.sh'), [bundle, join(work, 'bundle.Dockerfile')]);
    if (generated.code !== 0) throw new Error(`hack/gen-bundle.sh failed:\n${generated.stdout}${generated.stderr}`);
    csv = yamlObjects(
      readFileSync(join(bundle, 'manifests', 'imprimatur.clusterserviceversion.yaml'), 'utf8'),
    )[0] as Csv;
  }, 300_000);

  it('writes a bundle that operator-verify passes with the OperatorHub and object validators', async () => {
    expect(filesUnder(bundle)).toEqual([
      'manifests/imprimatur-clusterpolicy-editor-role_rbac.authorization.k8s.io_v1_clusterrole.yaml',
      'manifests/imprimatur-clusterpolicy-viewer-role_rbac.authorization.k8s.io_v1_clusterrole.yaml',
      'manifests/imprimatur-controller-manager-metrics-service_v1_service.yaml',
      'manifests/imprimatur-webhook-service_v1_service.yaml',
      'manifests/imprimatur.clusterserviceversion.yaml',
      'manifests/kyverno.io_clusterpolicies.yaml',
      'manifests/kyverno.io_policies.yaml',
      'metadata/annotations.yaml',
    ]);
    // operator-verify exits 0 whatever it finds, and says it in log lines: read them.
    const verified = await run(join(TOOLS_BIN, 'operator-verify'), [
      'manifests',
      '--operatorhub_validate',
      '--object_validate',
      bundle,
    ]);
    expect(verified.code).toBe(0);
    const lines = `${verified.stdout}${verified.stderr}`.split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => !l.includes('level=warning'))).toEqual([]);
    // The one warning left: this operator-verify's --operatorhub_validate runs the validator it itself deprecates.
    expect(lines.filter((l) => !l.includes('The \\"operatorhub\\" validator is deprecated'))).toEqual([]);
  });

  it('matches the committed bundle/ and bundle.Dockerfile (run `make bundle` when this fails)', () => {
    const committed = join(ROOT, 'bundle');
    expect(filesUnder(committed)).toEqual(filesUnder(bundle));
    for (const file of filesUnder(bundle)) {
      expect([file, readFileSync(join(committed, file), 'utf8')]).toEqual([
        file,
        readFileSync(join(bundle, file), 'utf8'),
      ]);
    }
    expect(readFileSync(join(ROOT, 'bundle.Dockerfile'), 'utf8')).toBe(
      readFileSync(join(work, 'bundle.Dockerfile'), 'utf8'),
    );
  });

  it("gives OLM config/rbac's manager ClusterRole, its namespaced Roles, and config/manager's Deployment", () => {
    const rules = (file: string) =>
      (parse(readFileSync(join(ROOT, 'config', 'rbac', file), 'utf8')) as { rules: PolicyRule[] }).rules;
    const install = csv.spec.install.spec;
    expect(install.clusterPermissions).toEqual([
      { serviceAccountName: 'imprimatur-controller-manager', rules: rules('role.yaml') },
    ]);
    expect(install.permissions).toEqual([
      {
        serviceAccountName: 'imprimatur-controller-manager',
        rules: [...rules('leader_election_role.yaml'), ...rules('webhook_cert_role.yaml')],
      },
    ]);
    expect(install.deployments.map((d) => d.name)).toEqual(['imprimatur-controller-manager']);
    const image = install.deployments[0]!.spec.template.spec.containers[0]!.image;
    expect(csv.metadata.annotations['containerImage']).toBe(image);
    expect(csv.metadata.name).toMatch(/^imprimatur\.v\d+\.\d+\.\d+/);
  });

  it('has alm-examples that the API server accepts', async () => {
    const examples = JSON.parse(csv.metadata.annotations['alm-examples']!) as KubeObject[];
    expect(examples.map((e) => e.kind).sort()).toEqual(['ClusterPolicy', 'Policy']);
    for (const example of examples) {
      const applied = await env.kubectl(
        ['apply', '--dry-run=server', '-n', 'default', '-f', '-'],
        JSON.stringify(example),
      );
      expect([example.kind, applied.stderr]).toEqual([example.kind, '']);
      expect(applied.stdout).toContain('(server dry run)');
    }
  });

  it('is refused when broken: an owned CRD missing from manifests/', async () => {
    const broken = join(work, 'broken');
    cpSync(bundle, broken, { recursive: true });
    rmSync(join(broken, 'manifests', 'kyverno.io_policies.yaml'));
    const validated = await run(join(ROOT, 'hack', 'gen-bundle.sh'), ['--validate-only', broken]);
    expect(validated.code).not.toBe(0);
    expect(validated.stderr).toContain('owned CRD');
    expect(validated.stderr).toContain('Kind=Policy');
  });
});

/** A request as the API server authorizes it: kube-apiserver's RequestInfo, for the paths a client sends. */
function toAuthorizedRequest(
  method: string,
  url: string,
): { group: string; resource: string; verb: string } | undefined {
  const parsed = new URL(url, 'https://api.invalid');
  const parts = parsed.pathname.split('/').filter((p) => p !== '');
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length > 2) [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length > 3) [group, rest] = [parts[1]!, parts.slice(3)];
  else return undefined; // discovery and other non-resource URLs
  // namespaces/NAME/RESOURCE...: a namespaced resource, unless RESOURCE is one of the namespace's own subresources.
  if (rest[0] === 'namespaces' && rest.length > 2 && !['status', 'finalize'].includes(rest[2]!)) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  const watch = ['true', '1'].includes(parsed.searchParams.get('watch') ?? '');
  const verb =
    method === 'GET'
      ? watch
        ? 'watch'
        : name
          ? 'get'
          : 'list'
      : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' }[method] ??
        method.toLowerCase());
  return { group, resource: subresource ? `${resource}/${subresource}` : resource!, verb };
}

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
}

/** An HTTPS proxy in front of the API server that records every request it passes on and the status answered. */
async function startRecordingProxy(upstream: { server: string; ca: string }) {
  const certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  const target = new URL(upstream.server);
  const requests: RecordedRequest[] = [];
  const server: Server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        ca: upstream.ca,
      },
      (answer) => {
        requests.push({ method: req.method!, url: req.url!, status: answer.statusCode! });
        res.writeHead(answer.statusCode!, answer.headers);
        // Now, not with the first byte of the body: a watch with nothing to say yet must still be answered.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    res.on('close', () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caPem: certs.caPem,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('config/rbac/role.yaml', () => {
  const NAMESPACE = 'imprimatur-rbac';
  /** Where the Policy and the Pods go: the webhook is never sent its own namespace's. */
  const APPS = 'imprimatur-rbac-apps';
  const WEBHOOK_LABEL = 'app.kubernetes.io/managed-by=imprimatur';
  let rbac: string;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>> | undefined;
  let operator: OperatorProcess | undefined;

  afterAll(async () => {
    await operator?.stop();
    await proxy?.close();
    await env.kubectl(['delete', 'cpol', 'check-image', '--ignore-not-found']);
    await env.kubectl(['delete', 'pol', 'check-team-images', '-n', APPS, '--ignore-not-found']);
    if (rbac) await env.kubectl(['delete', '--ignore-not-found', '-f', rbac]);
    // No operator, no webhook: nothing left pointing at the one this test stopped.
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      await env.kubectl(['delete', kind, '-l', WEBHOOK_LABEL, '--ignore-not-found']);
    }
  }, 60_000);

  it('grants each verb the operator uses, and no more', async () => {
    // config/rbac as config/default installs it, in a namespace and with a prefix of this test's own.
    const overlay = join(work, 'rbac-overlay');
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      stringify({
        namespace: NAMESPACE,
        namePrefix: 'rbac-check-',
        resources: [relative(overlay, join(ROOT, 'config', 'rbac'))],
      }),
    );
    const built = await run(join(TOOLS_BIN, 'kustomize'), ['build', overlay]);
    expect(built.stderr).toBe('');
    rbac = join(work, 'rbac.yaml');
    writeFileSync(rbac, built.stdout);
    for (const namespace of [NAMESPACE, APPS]) await env.kubectl(['create', 'namespace', namespace]);
    const applied = await env.kubectl(['apply', '-f', rbac]);
    expect(applied.stderr).toBe('');
    const token = await env.kubectl([
      'create',
      'token',
      'rbac-check-controller-manager',
      '-n',
      NAMESPACE,
      '--duration=1h',
    ]);
    expect(token.code).toBe(0);

    // The operator's kubeconfig: that ServiceAccount's token, sent through the recording proxy.
    const admin = parse(readFileSync(env.kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority': string } }[];
    };
    const cluster = admin.clusters[0]!.cluster;
    proxy = await startRecordingProxy({
      server: cluster.server,
      ca: readFileSync(cluster['certificate-authority'], 'utf8'),
    });
    const kubeconfig = join(work, 'service-account.kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'proxy',
            cluster: { server: proxy.url, 'certificate-authority-data': Buffer.from(proxy.caPem).toString('base64') },
          },
        ],
        users: [{ name: 'operator', user: { token: token.stdout.trim() } }],
        contexts: [{ name: 'operator', context: { cluster: 'proxy', user: 'operator', namespace: NAMESPACE } }],
        'current-context': 'operator',
      }),
    );

    // The webhook configurations of an earlier operator would be patched, not created: start without them.
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      expect((await env.kubectl(['delete', kind, '-l', WEBHOOK_LABEL, '--ignore-not-found'])).code).toBe(0);
    }
    operator = await startOperator({ ...env, kubeconfig }, await freePort(), {
      name: 'operator-rbac',
      args: [
        '--leader-elect',
        `--webhook-service-namespace=${NAMESPACE}`,
        // The serving certificate kept in a Secret, as in the cluster, with lifetimes short enough to see a renewal.
        '--webhook-cert-secret=imprimatur-webhook-tls',
        '--webhook-cert-validity=15s',
        '--webhook-ca-validity=1h',
      ],
    });

    // Everything it does: compile both kinds of policy and write their status and Events, register its webhooks,
    // deny Pods (PolicyViolation Events, the second a series), take back its webhooks when the policies go.
    const examples = JSON.parse(
      (
        yamlObjects(
          readFileSync(join(ROOT, 'bundle', 'manifests', 'imprimatur.clusterserviceversion.yaml'), 'utf8'),
        )[0] as Csv
      ).metadata.annotations['alm-examples']!,
    ) as KubeObject[];
    for (const example of examples) {
      const created = await env.kubectl(['apply', '-n', APPS, '-f', '-'], JSON.stringify(example));
      expect(created.stderr).toBe('');
    }
    for (const [kind, name, namespace] of [
      ['clusterpolicy', 'check-image', undefined],
      ['policy', 'check-team-images', APPS],
    ] as const) {
      const ready = await eventually(() => readyCondition(env, kind, name, namespace), `${name} to be Ready`);
      expect(ready.status).toBe('True');
    }
    // In local mode, as here, the last replica to stop removes its webhook configurations (a read, then a delete),
    // with the user's own rights (README, Stopping); in the cluster it never does: not the role's to grant.
    let stopBegan = Infinity;
    const inCluster = () =>
      proxy!.requests.filter(
        (r, i) =>
          i < stopBegan ||
          !/\/(mutating|validating)webhookconfigurations\//.test(r.url) ||
          (r.method !== 'GET' && r.method !== 'DELETE'),
      );
    // What the role lacks, the API server refused: say so before it shows as a Pod let through.
    const forbidden = () =>
      inCluster()
        .filter((r) => r.status === 403)
        .map((r) => `${r.method} ${r.url}`);
    expect({ forbidden: forbidden() }).toEqual({ forbidden: [] });
    for (let i = 0; i < 2; i++) {
      const ran = await env.kubectl([
        'run',
        'unsigned',
        '-n',
        APPS,
        '--image=registry.example/team/app:v1',
        '--restart=Never',
      ]);
      expect(ran.code).not.toBe(0);
      expect(ran.stderr).toContain('was blocked due to the following policies');
    }
    // A renewal of the leader Lease, besides the first acquisition.
    await eventually(
      async () => (proxy!.requests.some((r) => r.method === 'PUT' && r.url.includes('/leases/')) ? true : undefined),
      'a Lease renewal',
    );
    // A renewal of the serving certificate (an update of its Secret), besides its creation.
    await eventually(
      async () =>
        proxy!.requests.some((r) => r.method === 'PUT' && r.url.includes('/secrets/imprimatur-webhook-tls'))
          ? true
          : undefined,
      'a serving certificate renewal',
    );
    // The policies go: the operator takes its webhooks back (a patch after the deletions) before it stops.
    const before = proxy.requests.length;
    expect((await env.kubectl(['delete', 'cpol', 'check-image'])).code).toBe(0);
    expect((await env.kubectl(['delete', 'pol', 'check-team-images', '-n', APPS])).code).toBe(0);
    await eventually(
      async () =>
        proxy!.requests
          .slice(before)
          .some((r) => r.method === 'PATCH' && r.url.includes('/mutatingwebhookconfigurations/'))
          ? true
          : undefined,
      'the webhook configuration to be applied again',
    );
    // Stopping writes the Event series' counts (a patch) and ends the watches.
    stopBegan = proxy.requests.length;
    await operator.stop();
    operator = undefined;

    expect({ forbidden: forbidden() }).toEqual({ forbidden: [] });
    const used = new Set<string>();
    for (const r of inCluster()) {
      const info = toAuthorizedRequest(r.method, r.url);
      if (!info) continue;
      used.add(`${info.group} ${info.resource} ${info.verb}`);
      // A server-side apply that creates the object (201) is authorized as create too.
      if (info.verb === 'patch' && r.status === 201) used.add(`${info.group} ${info.resource} create`);
    }
    const rulesOf = (file: string) =>
      expandRules((parse(readFileSync(join(ROOT, 'config', 'rbac', file), 'utf8')) as { rules: PolicyRule[] }).rules);
    const granted = new Set(rulesOf('role.yaml'));
    const leaderElection = new Set(rulesOf('leader_election_role.yaml'));
    const webhookCert = new Set(rulesOf('webhook_cert_role.yaml'));
    // Both ways: nothing used that no role grants, and nothing in role.yaml or webhook_cert_role.yaml that was not
    // used. (Only sufficiency for leader_election_role.yaml, kubebuilder's, which also grants list, watch, patch and
    // delete on Leases.)
    const usedNotGranted = [...used]
      .filter((u) => !granted.has(u) && !leaderElection.has(u) && !webhookCert.has(u))
      .sort();
    const grantedNotUsed = [...granted, ...webhookCert].filter((g) => !used.has(g)).sort();
    expect({ usedNotGranted, grantedNotUsed }).toEqual({ usedNotGranted: [], grantedNotUsed: [] });
  }, 240_000);
});
