import { createSilentLogger } from '../pkg/log/index.js';
import { createServingCertificates, type ServingCertificates } from '../pkg/tls/index.js';
import { readCertificateFiles, watchCertificateFiles, type CertificateFiles } from './certificate-files.js';

const NAMES = { dir: '/certs', certName: 'tls.crt', keyName: 'tls.key' };
let first: ServingCertificates;
let second: ServingCertificates;

beforeAll(async () => {
  const now = new Date();
  first = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now });
  second = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now });
});

/** A directory as cert-manager's mounted Secret holds it. */
function files(certs: { certPem: string; keyPem: string; caPem?: string }): Map<string, string> {
  return new Map([
    ['/certs/tls.crt', certs.certPem],
    ['/certs/tls.key', certs.keyPem],
    ...(certs.caPem ? [['/certs/ca.crt', certs.caPem] as const] : []),
  ]);
}

describe('reading the certificate files', () => {
  it('reads the certificate, its key and ca.crt', () => {
    const dir = files(first);
    expect(readCertificateFiles(NAMES, { readFile: (p) => dir.get(p) })).toEqual({
      ok: true,
      value: { certPem: first.certPem, keyPem: first.keyPem, caPem: first.caPem },
    });
  });

  it('takes the certificate itself as the CA when there is no ca.crt', () => {
    const dir = files({ certPem: first.certPem, keyPem: first.keyPem });
    const read = readCertificateFiles(NAMES, { readFile: (p) => dir.get(p) });
    expect(read.ok && read.value.caPem).toBe(first.certPem);
  });

  it('names the file that is missing, broken, or not the pair of the other', () => {
    const read = (dir: Map<string, string>) => readCertificateFiles(NAMES, { readFile: (p) => dir.get(p) });
    const noKey = files(first);
    noKey.delete('/certs/tls.key');
    expect(read(noKey)).toEqual({ ok: false, error: '/certs/tls.key: no such file' });
    expect(read(files({ ...first, certPem: 'garbage' }))).toEqual({
      ok: false,
      error: expect.stringContaining('/certs/tls.crt: not an X.509 certificate'),
    });
    expect(read(files({ ...first, keyPem: second.keyPem }))).toEqual({
      ok: false,
      error: '/certs/tls.key: is not the key of /certs/tls.crt',
    });
    expect(read(files({ ...first, caPem: 'garbage' }))).toEqual({
      ok: false,
      error: '/certs/ca.crt: no PEM CERTIFICATE block',
    });
  });
});

describe('watching the certificate files', () => {
  it('hands over what they hold once they change, and only then; a half-written state is skipped', async () => {
    let dir = files(first);
    const changes: CertificateFiles[] = [];
    const current = { certPem: first.certPem, keyPem: first.keyPem, caPem: first.caPem };
    const watch = watchCertificateFiles(NAMES, current, {
      readFile: (p) => dir.get(p),
      intervalMs: 10,
      log: createSilentLogger(),
      onChange: (f) => changes.push(f),
    });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual([]);
      // The kubelet mid-update: the new certificate with the old key.
      dir = files({ ...second, keyPem: first.keyPem });
      await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual([]);
      dir = files(second);
      await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual([{ certPem: second.certPem, keyPem: second.keyPem, caPem: second.caPem }]);
    } finally {
      watch.stop();
    }
  });
});
