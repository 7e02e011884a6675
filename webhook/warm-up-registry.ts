// The registry the admission warm-up verifies against (warm-up.ts): a few images held in memory and served over
// plain HTTP on loopback, with the OCI distribution API's read side (manifests, blobs, referrers), so that the
// warm-up runs the real registry client, HTTP stack and all. A first verification in a new process otherwise pays
// for loading and compiling them: measured at 70–140 ms, against 5–10 ms for the next.
//
// It holds what the cosign CLIs write: `team/signed` signed by cosign v3 (a Sigstore bundle, found through the
// referrers API), `team/legacy` signed by cosign v2 (a `.sig` tag), and `team/unsigned`, each signed with the key
// given. Listens on 127.0.0.1 only, answers only these reads, and is closed when the warm-up ends.
import { sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IN_TOTO_PAYLOAD_TYPE, toPreAuthenticationEncoding } from '../pkg/cosign/index.js';
import { computeDigest, type Descriptor } from '../pkg/oci/index.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

export type WarmUpImage = 'signed' | 'legacy' | 'unsigned';

export interface WarmUpRegistry {
  /** host:port, as image references name it. */
  readonly host: string;
  close(): Promise<void>;
}

interface Blob {
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** Builds the images and starts serving them; resolves once listening. */
export async function startWarmUpRegistry(privateKey: KeyObject): Promise<WarmUpRegistry> {
  const content = new Content();
  const server = createServer((req, res) => {
    const answer = content.answer(req.method ?? 'GET', req.url ?? '/');
    res.writeHead(answer.status, answer.headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  content.fill(host, privateKey);
  return { host, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

class Content {
  /** `repository:reference` (a tag or a digest) to the manifest. */
  readonly #manifests = new Map<string, Blob>();
  readonly #blobs = new Map<string, Buffer>();
  /** `repository@digest` to the referrers of that digest. */
  readonly #referrers = new Map<string, Descriptor[]>();

  fill(host: string, privateKey: KeyObject): void {
    const signWith = (payload: Buffer) => sign('sha256', payload, privateKey);
    const images = Object.fromEntries(
      (['signed', 'legacy', 'unsigned'] as const).map((name) => {
        const layer = this.#blob(Buffer.from(`warm-up ${name} layer`));
        const manifest = this.#manifest(
          `team/${name}`,
          toManifest([{ ...layer, mediaType: 'application/octet-stream' }]),
        );
        this.#manifests.set(`team/${name}:v1`, manifest.blob);
        return [name, manifest.descriptor];
      }),
    ) as Record<WarmUpImage, Descriptor>;

    // cosign v2: a simple-signing payload in a layer of the `sha256-<hex>.sig` manifest, its signature annotated.
    const legacy = images.legacy.digest;
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': `${host}/team/legacy` },
          image: { 'docker-manifest-digest': legacy },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
    const payloadBlob = this.#blob(payload);
    const sig = toManifest([
      {
        ...payloadBlob,
        mediaType: SIMPLE_SIGNING,
        annotations: { 'dev.cosignproject.cosign/signature': signWith(payload).toString('base64') },
      },
    ]);
    this.#manifests.set(`team/legacy:${legacy.replace(':', '-')}.sig`, this.#manifest('team/legacy', sig).blob);

    // cosign v3: a DSSE envelope over the cosign/sign/v1 statement, in a Sigstore bundle, referring to the image.
    const signed = images.signed.digest;
    const statement = Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ digest: { sha256: signed.slice('sha256:'.length) } }],
        predicateType: 'https://sigstore.dev/cosign/sign/v1',
        predicate: {},
      }),
    );
    const pae = toPreAuthenticationEncoding(IN_TOTO_PAYLOAD_TYPE, statement);
    const bundle = Buffer.from(
      JSON.stringify({
        mediaType: BUNDLE,
        verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
        dsseEnvelope: {
          payload: statement.toString('base64'),
          payloadType: IN_TOTO_PAYLOAD_TYPE,
          signatures: [{ sig: signWith(pae).toString('base64') }],
        },
      }),
    );
    const bundleBlob = this.#blob(bundle);
    const referrer = this.#manifest('team/signed', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE,
      config: { ...EMPTY_CONFIG, artifactType: BUNDLE },
      layers: [{ ...bundleBlob, mediaType: BUNDLE }],
      subject: images.signed,
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      },
    });
    this.#referrers.set(`team/signed@${signed}`, [
      {
        ...referrer.descriptor,
        artifactType: BUNDLE,
        annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
      },
    ]);
  }

  answer(method: string, url: string): { status: number; headers: Record<string, string>; body?: Buffer } {
    const notFound = (code: string) => json(404, { errors: [{ code, message: code }] });
    if (method !== 'GET' && method !== 'HEAD') return json(405, { errors: [{ code: 'UNSUPPORTED' }] });
    const path = url.split('?')[0]!;
    if (path === '/v2/' || path === '/v2') return json(200, {});
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
    if (!m) return notFound('NAME_UNKNOWN');
    const [, repository, what, reference] = m as unknown as [string, string, string, string];
    if (what === 'manifests') {
      const manifest = this.#manifests.get(`${repository}:${reference}`);
      if (!manifest) return notFound('MANIFEST_UNKNOWN');
      return {
        status: 200,
        headers: {
          'content-type': manifest.mediaType,
          'content-length': String(manifest.bytes.length),
          'docker-content-digest': computeDigest(manifest.bytes),
        },
        body: manifest.bytes,
      };
    }
    if (what === 'blobs') {
      const blob = this.#blobs.get(reference);
      if (!blob) return notFound('BLOB_UNKNOWN');
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) },
        body: blob,
      };
    }
    const manifests = this.#referrers.get(`${repository}@${reference}`) ?? [];
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    return {
      status: 200,
      headers: { 'content-type': OCI_INDEX, 'content-length': String(index.length) },
      body: index,
    };
  }

  #blob(bytes: Buffer): { digest: string; size: number } {
    const digest = computeDigest(bytes);
    this.#blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }

  /** Stores a manifest under its digest; its descriptor, and the bytes to store under a tag too. */
  #manifest(repository: string, document: object): { descriptor: Descriptor; blob: Blob } {
    const bytes = Buffer.from(JSON.stringify(document));
    const blob = { mediaType: OCI_MANIFEST, bytes };
    const digest = computeDigest(bytes);
    this.#manifests.set(`${repository}:${digest}`, blob);
    return { descriptor: { mediaType: OCI_MANIFEST, digest, size: bytes.length }, blob };
  }
}

function toManifest(layers: readonly object[]): object {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers };
}

function json(status: number, value: unknown) {
  const body = Buffer.from(JSON.stringify(value));
  return {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    body,
  };
}
