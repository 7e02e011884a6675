// The serving certificate read from files (--webhook-cert-path: cert-manager's Secret, mounted), and read again
// whenever they change, as controller-runtime's certwatcher does: cert-manager renews the Secret and the kubelet
// updates the mounted files, and a webhook that kept its first certificate would fail once that one expired.
// The files are polled, not watched: the kubelet swaps a symlinked directory, which inotify watches miss.
import { join } from 'node:path';
import { matchesKey, readCertificate, readCertificates } from '../pkg/tls/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import type { Logger } from '../pkg/log/index.js';

export interface CertificateFiles {
  readonly certPem: string;
  readonly keyPem: string;
  /** ca.crt when the directory has one (cert-manager writes it), else the certificate itself. */
  readonly caPem: string;
}

export interface CertificateFileNames {
  readonly dir: string;
  readonly certName: string;
  readonly keyName: string;
}

export interface CertificateFileDeps {
  /** The file's text, or undefined when there is no such file. Throws on any other failure. */
  readonly readFile: (path: string) => string | undefined;
}

/** Reads and checks the files: a certificate, its own key, and CA certificates. Errors name the file. */
export function readCertificateFiles(
  names: CertificateFileNames,
  deps: CertificateFileDeps,
): Result<CertificateFiles, string> {
  const path = (name: string) => join(names.dir, name);
  let certPem: string | undefined;
  let keyPem: string | undefined;
  let caPem: string | undefined;
  try {
    certPem = deps.readFile(path(names.certName));
    keyPem = deps.readFile(path(names.keyName));
    caPem = deps.readFile(path('ca.crt'));
  } catch (e) {
    return err((e as Error).message);
  }
  if (certPem === undefined) return err(`${path(names.certName)}: no such file`);
  if (keyPem === undefined) return err(`${path(names.keyName)}: no such file`);
  const cert = readCertificate(certPem);
  if (!cert.ok) return err(`${path(names.certName)}: ${cert.error}`);
  if (!matchesKey(cert.value, keyPem)) return err(`${path(names.keyName)}: is not the key of ${path(names.certName)}`);
  if (caPem !== undefined) {
    const cas = readCertificates(caPem);
    if (!cas.ok) return err(`${path('ca.crt')}: ${cas.error}`);
  }
  return ok({ certPem, keyPem, caPem: caPem ?? certPem });
}

export interface CertificateFileWatch {
  stop(): void;
}

/**
 * Reads the files every `intervalMs` and calls `onChange` with what they hold when it differs from `current`. Files
 * caught half-written, or broken, are logged and the last good certificate kept.
 */
export function watchCertificateFiles(
  names: CertificateFileNames,
  current: CertificateFiles,
  options: CertificateFileDeps & { intervalMs: number; log: Logger; onChange: (files: CertificateFiles) => void },
): CertificateFileWatch {
  let last = current;
  let lastProblem = '';
  const timer = setInterval(() => {
    const read = readCertificateFiles(names, options);
    if (!read.ok) {
      if (read.error !== lastProblem)
        options.log.warn('serving certificate files not usable; keeping the last good', { error: read.error });
      lastProblem = read.error;
      return;
    }
    lastProblem = '';
    const next = read.value;
    if (next.certPem === last.certPem && next.keyPem === last.keyPem && next.caPem === last.caPem) return;
    last = next;
    options.log.info('serving certificate files changed; serving the new certificate', { dir: names.dir });
    options.onChange(next);
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
