import type { AddressInfo } from 'node:net';
import { createSilentLogger } from '../pkg/log/index.js';
import { Metrics } from '../pkg/metrics/index.js';
import { startMetricsServer } from './metrics-server.js';

describe('startMetricsServer', () => {
  it('serves the registry at /metrics in the Prometheus text format, and nothing elsewhere', async () => {
    const metrics = new Metrics();
    metrics.observeVerification({ durationSeconds: 0.1 });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics, createSilentLogger());
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const scraped = await fetch(`${base}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await scraped.text()).toContain('imprimatur_image_verifications_total{result="pass"} 1');
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers 500 when the metrics cannot be collected', async () => {
    const failing = { render: () => Promise.reject(new Error('collector failed')) };
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, failing, createSilentLogger());
    try {
      const scraped = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(scraped.status).toBe(500);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
