import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createSilentLogger } from '../pkg/log/index.js';
import { createServingCertificates } from '../pkg/tls/index.js';
import { allowed } from './responses.js';
import { MAX_BODY_BYTES, startWebhookServer, type RunningServer } from './server.js';

const REVIEW = readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8');

let server: RunningServer;
let ca: string;
let ready = false;
const seen: string[] = [];

beforeAll(async () => {
  const certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  ca = certs.caPem;
  server = await startWebhookServer({
    tls: certs,
    host: '127.0.0.1',
    port: 0,
    log: createSilentLogger(),
    isReady: () => ready,
    mutate: (req) => {
      seen.push(req.uid);
      return allowed(req.uid);
    },
  });
});

afterAll(() => server.close());

function send(path: string, options: { method?: string; body?: string | Buffer; type?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'POST',
        ca,
        headers: options.type === undefined ? { 'content-type': 'application/json' } : { 'content-type': options.type },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the webhook server', () => {
  describe('when it receives an AdmissionReview on /mutate', () => {
    it('answers with a review for the same uid, over TLS from its own CA', async () => {
      const res = await send('/mutate', { body: REVIEW });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: '1b81967d-876a-4d61-bbad-b6a53cc06722', allowed: true },
      });
      expect(seen).toContain('1b81967d-876a-4d61-bbad-b6a53cc06722');
    });
  });

  describe('when the request is not an AdmissionReview', () => {
    it.each([
      ['invalid JSON', { body: '{' }, 400, 'the body is not valid JSON'],
      ['another content type', { body: REVIEW, type: 'text/plain' }, 400, 'is not application/json'],
      ['an empty body', { body: '' }, 400, 'request body is empty'],
      [
        'a review of another version',
        { body: REVIEW.replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1') },
        400,
        'apiVersion',
      ],
      ['GET', { method: 'GET' }, 405, 'use POST'],
    ] as const)('answers %s with a clear error', async (_what, options, status, message) => {
      const res = await send('/mutate', options);
      expect(res.status).toBe(status);
      expect(res.body).toContain(message);
    });

    it('refuses a body over the limit without reading it all', async () => {
      const res = await send('/mutate', { body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) });
      expect(res.status).toBe(413);
    });

    it('answers unknown paths with 404', async () => {
      expect((await send('/validate', { body: REVIEW })).status).toBe(404);
    });
  });

  describe('health', () => {
    it('is healthy at once and ready only once the cache is warm', async () => {
      expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
      expect((await send('/readyz', { method: 'GET' })).status).toBe(503);
      ready = true;
      expect((await send('/readyz', { method: 'GET' })).status).toBe(200);
    });
  });
});
