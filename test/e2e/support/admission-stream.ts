// A steady stream of Pod creates straight to the API server (server-side dry runs over HTTPS with the kubeconfig's
// token, so each request's duration is the API server's answer and not a kubectl start), from a few concurrent
// clients, each alternating a signed and an unsigned image. Every request is recorded with when it started, how long
// it took and what came back, and `analyse` judges the record against a fault's timeline.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';

export type ImageKind = 'signed' | 'unsigned';

/**
 * What a create came back with: `admitted` (201, the image pinned to the expected digest), `admitted-unpinned` (201
 * with any other image), `denied` (refused by a policy: "was blocked due to the following policies"),
 * `webhook-error` (the API server could not get an answer from the webhook, which a Fail policy turns into a
 * refusal), `api-error` (any other HTTP error), `unreachable` (no HTTP answer) and `client-timeout` (none within
 * the client's 30 s).
 */
export type Outcome =
  'admitted' | 'admitted-unpinned' | 'denied' | 'webhook-error' | 'api-error' | 'unreachable' | 'client-timeout';

export interface Sample {
  /** When it was sent, in ms since the stream started. */
  readonly t: number;
  readonly ms: number;
  readonly image: ImageKind;
  readonly outcome: Outcome;
  readonly status: number;
  /** The Status message of an error, the image of an admitted Pod. */
  readonly detail: string;
}

export interface StreamImages {
  /** The signed image as the Pod names it (by tag), and the digest it must be pinned to. */
  readonly signed: { readonly image: string; readonly digest: string };
  readonly unsigned: string;
}

interface ApiServer {
  readonly server: URL;
  readonly agent: Agent;
  readonly token: string;
}

function apiServer(kubeconfig: string): ApiServer {
  const config = parse(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = config.clusters[0]!.cluster;
  return {
    server: new URL(cluster.server),
    agent: new Agent({ keepAlive: true, ca: readFileSync(cluster['certificate-authority']) }),
    token: config.users[0]!.user.token,
  };
}

const CLIENT_TIMEOUT_MS = 30_000;

function createPod(
  api: ApiServer,
  namespace: string,
  body: string,
): Promise<{ status: number; body: string } | { error: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: api.server.hostname,
        port: api.server.port,
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/pods?dryRun=All`,
        agent: api.agent,
        headers: {
          authorization: `Bearer ${api.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ error: e.message, timedOut: false }));
      },
    );
    req.setTimeout(CLIENT_TIMEOUT_MS, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ error: e.message, timedOut: e.message === 'client timeout' }));
    req.end(body);
  });
}

function classify(
  answer: { status: number; body: string } | { error: string; timedOut: boolean },
  pinned: string | undefined,
): { outcome: Outcome; status: number; detail: string } {
  if ('error' in answer) {
    return { outcome: answer.timedOut ? 'client-timeout' : 'unreachable', status: 0, detail: answer.error };
  }
  let parsed: { message?: string; spec?: { containers?: { image?: string }[] } } = {};
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    // not JSON: kept as the detail below
  }
  if (answer.status === 201) {
    const image = parsed.spec?.containers?.[0]?.image ?? '';
    return {
      outcome: pinned !== undefined && image === pinned ? 'admitted' : 'admitted-unpinned',
      status: 201,
      detail: image,
    };
  }
  const message = parsed.message ?? answer.body.slice(0, 500);
  const outcome: Outcome = message.includes('was blocked due to the following policies')
    ? 'denied'
    : message.includes('failed calling webhook')
      ? 'webhook-error'
      : 'api-error';
  return { outcome, status: answer.status, detail: message };
}

export interface AdmissionStream {
  readonly samples: readonly Sample[];
  /** ms since the stream started. */
  now(): number;
  /** Stops sending; resolves once every client's last request is answered. */
  stop(): Promise<void>;
}

/**
 * Starts `clients` clients, each sending creates one after another (a pause of `pauseMs` between them, and of 200 ms
 * after a request that got no admission answer, so that an API server that is down is not spun on), alternating the
 * two images, starting with a different one per client.
 */
export function startAdmissionStream(options: {
  kubeconfig: string;
  namespace: string;
  images: StreamImages;
  clients?: number;
  pauseMs?: number;
}): AdmissionStream {
  const api = apiServer(options.kubeconfig);
  const started = performance.now();
  const now = () => Math.round(performance.now() - started);
  const samples: Sample[] = [];
  const pinned = `${options.images.signed.image}@${options.images.signed.digest}`;
  let stopping = false;
  let sent = 0;
  const client = async (index: number) => {
    for (let turn = index; !stopping; turn++) {
      const image: ImageKind = turn % 2 === 0 ? 'signed' : 'unsigned';
      const i = sent++;
      const body = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `fault-stream-${i}`, namespace: options.namespace },
        spec: {
          containers: [
            { name: 'app', image: image === 'signed' ? options.images.signed.image : options.images.unsigned },
          ],
        },
      });
      const t = now();
      const answer = await createPod(api, options.namespace, body);
      const ms = now() - t;
      const sample = { t, ms, image, ...classify(answer, image === 'signed' ? pinned : undefined) };
      samples.push(sample);
      const pause = ['unreachable', 'api-error'].includes(sample.outcome) ? 200 : (options.pauseMs ?? 0);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  };
  const running = Promise.all(Array.from({ length: options.clients ?? 4 }, (_, i) => client(i)));
  return {
    samples,
    now,
    async stop() {
      stopping = true;
      await running;
      api.agent.destroy();
    },
  };
}

/** An answer the API server gave after asking the webhook: what the deadline applies to. */
const ADMISSION_ANSWERS: readonly Outcome[] = ['admitted', 'admitted-unpinned', 'denied', 'webhook-error'];
/**
 * How the API server words its own timeout of a webhook call (not to be confused with the `?timeout=10s` of the URL
 * it names).
 */
const WEBHOOK_TIMED_OUT = /context deadline exceeded|Client\.Timeout exceeded|i\/o timeout|timed out/i;

export interface StreamSummary {
  requests: number;
  /** Counts per image and outcome. */
  outcomes: Record<ImageKind, Partial<Record<Outcome, number>>>;
  maxMs: number;
  /** The slowest answer the API server gave after asking the webhook (ADMISSION_ANSWERS). */
  maxAdmissionMs: number;
  p50AdmissionMs: number;
  p99AdmissionMs: number;
  /** Each unsigned image admitted, and each signed one admitted without its digest: never allowed. */
  wronglyAdmitted: Sample[];
  /** Admission answers slower than the bound, the API server's own timeouts of the webhook, and client timeouts. */
  pastDeadline: Sample[];
  /** Before the fault: every signed image admitted and pinned, every unsigned one denied by the policy. */
  beforeFault: { requests: number; wrong: Sample[] };
  /** ms from the end of the fault to the end of the first create of the signed image sent after it that was admitted. */
  recoveryMs: number | undefined;
  /** From a second after that recovery on, the same as before the fault. */
  afterRecovery: { requests: number; wrong: Sample[] };
  /** A few messages per image and outcome, for the report. */
  examples: Record<string, string[]>;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** What is right when nothing is wrong: the signed image admitted and pinned, the unsigned one denied by the policy. */
const healthy = (s: Sample) => (s.image === 'signed' ? s.outcome === 'admitted' : s.outcome === 'denied');

export function analyse(
  samples: readonly Sample[],
  timeline: { faultStart: number; faultEnd: number; deadlineMs: number },
): StreamSummary {
  const outcomes: StreamSummary['outcomes'] = { signed: {}, unsigned: {} };
  const examples: Record<string, string[]> = {};
  for (const s of samples) {
    outcomes[s.image][s.outcome] = (outcomes[s.image][s.outcome] ?? 0) + 1;
    const key = `${s.image} ${s.outcome}`;
    const list = (examples[key] ??= []);
    const detail = s.detail.replace(/fault-stream-\d+/g, 'fault-stream-N');
    if (list.length < 3 && !list.includes(detail)) list.push(detail);
  }
  const admissions = samples.filter((s) => ADMISSION_ANSWERS.includes(s.outcome));
  const admissionMs = admissions.map((s) => s.ms).sort((a, b) => a - b);
  const firstSignedAfter = samples
    .filter((s) => s.image === 'signed' && s.outcome === 'admitted' && s.t >= timeline.faultEnd)
    .sort((a, b) => a.t + a.ms - (b.t + b.ms))[0];
  const recoveredAt = firstSignedAfter ? firstSignedAfter.t + firstSignedAfter.ms : undefined;
  const before = samples.filter((s) => s.t + s.ms < timeline.faultStart);
  const after = recoveredAt === undefined ? [] : samples.filter((s) => s.t >= recoveredAt + 1000);
  return {
    requests: samples.length,
    outcomes,
    maxMs: Math.max(0, ...samples.map((s) => s.ms)),
    maxAdmissionMs: admissionMs.at(-1) ?? 0,
    p50AdmissionMs: percentile(admissionMs, 50),
    p99AdmissionMs: percentile(admissionMs, 99),
    wronglyAdmitted: samples.filter(
      (s) => (s.image === 'unsigned' && s.status === 201) || s.outcome === 'admitted-unpinned',
    ),
    pastDeadline: samples.filter(
      (s) =>
        s.outcome === 'client-timeout' ||
        (ADMISSION_ANSWERS.includes(s.outcome) && s.ms > timeline.deadlineMs) ||
        (s.outcome === 'webhook-error' && WEBHOOK_TIMED_OUT.test(s.detail)),
    ),
    beforeFault: { requests: before.length, wrong: before.filter((s) => !healthy(s)) },
    recoveryMs: recoveredAt === undefined ? undefined : recoveredAt - timeline.faultEnd,
    afterRecovery: { requests: after.length, wrong: after.filter((s) => !healthy(s)) },
    examples,
  };
}
