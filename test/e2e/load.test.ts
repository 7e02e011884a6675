// Steady load through the real kube-apiserver (issue 14, point 4, in short; hack/bench-load.mjs is the minute-long
// run of `make bench`): the operator with one Enforce policy (failurePolicy Fail) verifying a key-signed image, warm
// (the image verified once, then a cache hit), and an open-loop stream of Pod creates at a fixed, moderate rate for
// STREAM_S seconds: each create is sent when it is due, whether or not the earlier ones have been answered, so a
// slow webhook shows as creates piling up rather than as a client slowing down. The rate is half of what the API
// server answers with no webhook (a closed loop of a few seconds, measured first), capped at MAX_RATE so that it is
// moderate on any machine. The creates are server-side dry runs over one HTTP/2 session with the kubeconfig's token
// (admission runs in full, nothing is stored in the suite's cluster). Asserted:
//   - no error: every create answered 201, its image pinned to the signed digest;
//   - no answer slower than the webhook's timeout (plus a second for the API server and this client);
//   - the operator is the same process throughout, and its RSS, read every second, stays under RSS_BOUND_MIB and
//     does not climb: the mean of the last third of the readings is at most 1.5 × the first third's + 30 MiB.
// Latency percentiles are written out (test-results/load.json, with a row per second), never asserted: they are
// benchmarks.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  eventually,
  freePort,
  loadEnvironment,
  ROOT,
  STATE,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';

const NAMESPACE = 'load-e2e';
const POLICY = 'load-check';
const OPERATOR = 'operator-load';
const MANAGED = 'app.kubernetes.io/managed-by=imprimatur';
/** The policy's webhookTimeoutSeconds. */
const TIMEOUT_S = 10;
/** Added to the webhook timeout for the API server's own work and this client's. */
const MARGIN_MS = 1_000;
const BASELINE_MS = 3_000;
const BASELINE_CONCURRENCY = 16;
const STREAM_S = 15;
/** Creates per second, at most: well under what the webhook answers on a loaded two-core machine. */
const MAX_RATE = 75;
const MIN_RATE = 10;
/** Most creates in flight; above it a create waits for a slot (and is late against its schedule). */
const CAP = 200;
const RSS_BOUND_MIB = 400;
const CLIENT_TIMEOUT_MS = 30_000;

let env: Environment;
let work: string;
let operator: OperatorProcess | undefined;
let session: ClientHttp2Session | undefined;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

/** The API server of the kubeconfig: its URL, CA and the admin's token. */
function apiServer(kubeconfig: string): { server: string; ca: Buffer; token: string } {
  const config = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = config.clusters[0]!.cluster;
  return {
    server: cluster.server,
    ca: readFileSync(cluster['certificate-authority']),
    token: config.users[0]!.user.token,
  };
}

/** One HTTP/2 session, with the flow-control windows of kube-apiserver's Go clients (not Node's 64 KiB). */
function openSession(server: string, ca: Buffer): Promise<ClientHttp2Session> {
  const s = connect(server, { ca, settings: { initialWindowSize: 4 << 20 } });
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.setLocalWindowSize(1 << 30);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Sends one dry-run create of a Pod named `name` with `image`; resolves when it is answered (or failed) with what
 * was wrong with it, if anything: not 201, or an image other than `want`.
 */
function create(
  s: ClientHttp2Session,
  token: string,
  name: string,
  image: string,
  want: string,
): Promise<string | undefined> {
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE },
    spec: { containers: [{ name: 'app', image }] },
  });
  return new Promise((resolve) => {
    let req: ReturnType<ClientHttp2Session['request']>;
    try {
      req = s.request({
        ':method': 'POST',
        ':path': `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`,
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      });
    } catch (e) {
      resolve(`not sent: ${(e as Error).message}`);
      return;
    }
    let status = 0;
    let ended = false;
    let problem: string | undefined;
    const chunks: Buffer[] = [];
    req.setTimeout(CLIENT_TIMEOUT_MS, () => {
      problem ??= `no answer within ${CLIENT_TIMEOUT_MS} ms`;
      req.close(constants.NGHTTP2_CANCEL);
    });
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (ended = true));
    req.on('error', (e) => (problem ??= e.message));
    // 'close' comes last, once, whatever happened.
    req.on('close', () => {
      if (problem) return resolve(problem);
      if (!ended) return resolve(`stream closed before its end (code ${req.rstCode})`);
      const text = Buffer.concat(chunks).toString('utf8');
      if (status !== 201) return resolve(`HTTP ${status}: ${text.slice(0, 300)}`);
      const got = (JSON.parse(text) as { spec?: { containers?: { image?: string }[] } }).spec?.containers?.[0]?.image;
      resolve(got === want ? undefined : `image ${got}, expected ${want}`);
    });
    req.end(body);
  });
}

/** One create's record, in ms since the stream started. */
interface Create {
  readonly due: number;
  readonly sent: number;
  done: number;
  problem: string | undefined;
}

/**
 * Creates sent on a fixed schedule, `rate` per second for `seconds`: create i is due at i / rate and sent then,
 * unless CAP are in flight (then when a slot frees). `sample` is called every second. Resolves once every create
 * sent is answered.
 */
async function openLoop(
  send: (i: number) => Promise<string | undefined>,
  rate: number,
  seconds: number,
  sample: (t: number) => void,
): Promise<{ records: Create[]; unsent: number }> {
  const interval = 1000 / rate;
  const total = Math.floor(rate * seconds);
  const records: Create[] = [];
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const now = () => performance.now() - started;
  const sampler = setInterval(() => sample(now()), 1000);
  while (now() < seconds * 1000) {
    const due = Math.min(total, Math.floor(now() / interval) + 1);
    while (records.length < due && pending.size < CAP) {
      const record: Create = { due: records.length * interval, sent: now(), done: NaN, problem: undefined };
      const p = send(records.length).then((problem) => {
        record.done = now();
        record.problem = problem;
        pending.delete(p);
      });
      pending.add(p);
      records.push(record);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const unsent = total - records.length;
  await Promise.all(pending);
  clearInterval(sampler);
  sample(now());
  return { records, unsent };
}

const percentile = (sorted: readonly number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** The resident set size of a process, MiB, from /proc; undefined once it has gone. */
function rssMiB(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? round1(Number(kb[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function deleteConfigurations(): Promise<void> {
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    await env.kubectl(['delete', kind, '-l', MANAGED, '--ignore-not-found']);
  }
}

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-load-'));
  await installCrds(env);
  await env.kubectl(['create', 'namespace', NAMESPACE]);
  // Left by another suite's operator, they would send this suite's Pods to a webhook that is gone.
  await deleteConfigurations();
}, 120_000);

afterAll(async () => {
  session?.close();
  await operator?.stop();
  await env.kubectl(['delete', 'clusterpolicy', POLICY, '--ignore-not-found']);
  await deleteConfigurations();
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('steady load through kube-apiserver', () => {
  it('admits a steady open-loop stream of signed Pods, pinned, in time, with the operator’s memory flat', async () => {
    // The image, signed with a key, no transparency log entry (the policy says so).
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k')])).code).toBe(0);
    const byDigest = await pushRandomImage(env.vars['REGISTRY']!, 'load/app');
    const signed = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      byDigest,
    ]);
    expect(signed.code).toBe(0);
    const [repository, digest] = byDigest.split('@') as [string, string];
    const image = `${repository}:v1`;
    const pinned = `${image}@${digest}`;

    // The operator at its default log level (startOperator's --log-level=debug is overridden: the last flag wins).
    operator = await startOperator(env, await freePort(), { name: OPERATOR, args: ['--log-level=info'] });
    const pid = Number(readFileSync(join(STATE, 'pids', OPERATOR), 'utf8'));
    const api = apiServer(env.kubeconfig);
    session = await openSession(api.server, api.ca);
    const s = session;
    let seq = 0;
    const send = (want: string) => () => create(s, api.token, `load-${seq++}`, image, want);

    // What the API server answers with no policy for this namespace (so no webhook for these Pods), closed loop.
    const baselineProblems: string[] = [];
    let baselineCount = 0;
    const baselineStart = performance.now();
    await Promise.all(
      Array.from({ length: BASELINE_CONCURRENCY }, async () => {
        while (performance.now() - baselineStart < BASELINE_MS) {
          const problem = await send(image)();
          if (problem) baselineProblems.push(problem);
          else baselineCount++;
        }
      }),
    );
    const baselinePerSecond = baselineCount / ((performance.now() - baselineStart) / 1000);
    expect(baselineProblems.slice(0, 3)).toEqual([]);
    const rate = Math.round(Math.max(MIN_RATE, Math.min(MAX_RATE, baselinePerSecond / 2)));

    // Enforce, Fail: Pods of NAMESPACE with this repository's images must be signed with k.
    const policy = stringify({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: POLICY },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy: 'Fail',
        webhookTimeoutSeconds: TIMEOUT_S,
        rules: [
          {
            name: 'check',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
            verifyImages: [
              {
                imageReferences: [`${repository}*`],
                attestors: [
                  {
                    entries: [
                      {
                        keys: {
                          publicKeys: readFileSync(join(work, 'k.pub'), 'utf8'),
                          rekor: { ignoreTlog: true },
                        },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
    expect((await env.kubectl(['apply', '-f', '-'], policy)).stderr).toBe('');
    await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', POLICY);
      return ready?.status === 'True' ? ready : undefined;
    }, `${POLICY} to be Ready`);
    // Warm: the first pinned create verifies the image (until then the API server may not call the webhook yet),
    // then a few more, cache hits, before the stream.
    await eventually(async () => ((await send(pinned)()) === undefined ? true : undefined), 'a create to be pinned');
    for (let i = 0; i < 20; i++) expect(await send(pinned)()).toBeUndefined();

    const rss: { t: number; mib: number | undefined }[] = [];
    const { records, unsent } = await openLoop(send(pinned), rate, STREAM_S, (t) =>
      rss.push({ t: Math.round(t), mib: rssMiB(pid) }),
    );

    const answered = records.filter((r) => r.problem === undefined);
    const fromSend = answered.map((r) => r.done - r.sent).sort((a, b) => a - b);
    const fromDue = answered.map((r) => r.done - r.due).sort((a, b) => a - b);
    const figures = (sorted: number[]) => ({
      p50Ms: round1(percentile(sorted, 0.5)),
      p99Ms: round1(percentile(sorted, 0.99)),
      maxMs: round1(percentile(sorted, 1)),
    });
    const perSecond = Array.from({ length: Math.ceil(Math.max(0, ...records.map((r) => r.done)) / 1000) }, (_, sec) => {
      const inSecond = records.filter((r) => Math.floor(r.done / 1000) === sec);
      const ok = inSecond.filter((r) => r.problem === undefined);
      return {
        second: sec,
        sent: records.filter((r) => Math.floor(r.sent / 1000) === sec).length,
        completed: ok.length,
        errors: inSecond.length - ok.length,
        ...figures(ok.map((r) => r.done - r.due).sort((a, b) => a - b)),
        rssMiB: (rss.find((x) => x.t >= (sec + 1) * 1000 - 500) ?? rss.at(-1))?.mib ?? null,
      };
    });
    const readings = rss.map((r) => r.mib).filter((m): m is number => m !== undefined);
    const third = Math.max(1, Math.floor(readings.length / 3));
    const firstThird = round1(mean(readings.slice(0, third)));
    const lastThird = round1(mean(readings.slice(-third)));
    const problems = records.filter((r) => r.problem !== undefined).map((r) => r.problem!);
    const report = {
      baseline: { concurrency: BASELINE_CONCURRENCY, perSecond: Math.round(baselinePerSecond) },
      rate,
      seconds: STREAM_S,
      due: Math.floor(rate * STREAM_S),
      sent: records.length,
      unsent,
      completed: answered.length,
      errors: problems.length,
      problems: problems.slice(0, 10),
      fromDue: figures(fromDue),
      fromSend: figures(fromSend),
      rss: { readings, minMiB: Math.min(...readings), maxMiB: Math.max(...readings), firstThird, lastThird },
      perSecond,
    };
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    writeFileSync(join(ROOT, 'test-results', 'load.json'), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `load: ${records.length} creates at ${rate}/s (no webhook: ${report.baseline.perSecond}/s), ` +
        `p50 ${report.fromSend.p50Ms} ms, p99 ${report.fromSend.p99Ms} ms, max ${report.fromSend.maxMs} ms; ` +
        `RSS ${report.rss.minMiB}–${report.rss.maxMiB} MiB\n`,
    );

    expect(problems.slice(0, 5)).toEqual([]);
    expect(answered.length).toBe(records.length);
    expect(records.length).toBeGreaterThan(0);
    expect(fromSend.at(-1)!).toBeLessThanOrEqual(TIMEOUT_S * 1000 + MARGIN_MS);
    // The same process, started once, still there.
    expect(Number(readFileSync(join(STATE, 'pids', OPERATOR), 'utf8'))).toBe(pid);
    expect(rssMiB(pid)).toBeDefined();
    expect(operator.logLines().filter((l) => l['message'] === 'starting')).toHaveLength(1);
    // Read every second (a reading at the end too), each under the bound, and not climbing.
    expect(readings.length).toBeGreaterThanOrEqual(STREAM_S);
    expect(Math.max(...readings)).toBeLessThan(RSS_BOUND_MIB);
    expect(lastThird).toBeLessThanOrEqual(1.5 * firstThird + 30);
  }, 120_000);
});
