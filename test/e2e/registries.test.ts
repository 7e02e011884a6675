// The OCI client against the real registries of the local environment: olareg (referrers API) and distribution (tag
// fallback), each anonymous, with basic auth and with token auth. crane and cosign, which nobody here wrote, make
// the content and judge the answers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageRef, type ImageRef } from '../../pkg/imageref/index.js';
import {
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_SIGSTORE_BUNDLE_V03,
  parseDockerConfigJson,
  RegistryClient,
  type DockerConfig,
} from '../../pkg/oci/index.js';
import { loadEnvironment, type Environment } from './support/environment.js';
import { registryTools } from './support/registry-tools.js';

// The global setup has started the environment before any test file loads, so the registries are known here.
const env: Environment = loadEnvironment();
const v = env.vars;
const registries = [
  { name: 'olareg, anonymous', host: v['REGISTRY']!, referrersApi: true, auth: false },
  { name: 'olareg, basic auth', host: v['REGISTRY_BASIC']!, referrersApi: true, auth: true },
  { name: 'olareg, token auth', host: v['REGISTRY_TOKEN']!, referrersApi: true, auth: true },
  { name: 'distribution, anonymous', host: v['REGISTRY_NOREFERRERS']!, referrersApi: false, auth: false },
  { name: 'distribution, basic auth', host: v['REGISTRY_NOREFERRERS_BASIC']!, referrersApi: false, auth: true },
  { name: 'distribution, token auth', host: v['REGISTRY_NOREFERRERS_TOKEN']!, referrersApi: false, auth: true },
];
let work: string;
let credentials: DockerConfig;
const { tool, imprimatur, pushRandomImage } = registryTools(env, () => work);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imprimatur-e2e-'));
  const parsed = parseDockerConfigJson(readFileSync(join(v['REGISTRY_DOCKER_CONFIG']!, 'config.json'), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.error);
  credentials = parsed.value;
  const keys = await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'cosign')]);
  expect(keys.code).toBe(0);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function ref(text: string): ImageRef {
  const parsed = parseImageRef(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function client(host: string, withCredentials = true): RegistryClient {
  return new RegistryClient({ insecureRegistries: [host], ...(withCredentials ? { credentials } : {}) });
}

describe('the OCI client against real registries', () => {
  it.each(registries)('$name: imprimatur digest prints what crane digest prints', async (r) => {
    await pushRandomImage(r.host, 'test/digest', 'v1');
    const crane = await tool('crane', ['digest', `${r.host}/test/digest:v1`]);
    const ours = await imprimatur(['digest', `${r.host}/test/digest:v1`, '--insecure-registry', r.host]);
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(crane.stdout);
    expect(ours.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
  });

  it('pins a multi-platform image to its index digest, as crane and cosign do', async () => {
    const host = registries[0]!.host;
    await pushRandomImage(host, 'test/multi', 'amd64');
    await pushRandomImage(host, 'test/multi', 'arm64');
    const index = await tool('crane', [
      'index',
      'append',
      '-m',
      `${host}/test/multi:amd64`,
      '-m',
      `${host}/test/multi:arm64`,
      '-t',
      `${host}/test/multi:both`,
    ]);
    expect(index.code).toBe(0);
    const crane = await tool('crane', ['digest', `${host}/test/multi:both`]);
    const ours = await client(host).resolveDigest(ref(`${host}/test/multi:both`));
    expect(ours.ok && `${ours.value.digest}\n`).toBe(crane.stdout);
    const manifest = await client(host).getManifest(ref(`${host}/test/multi:both`));
    expect(manifest.ok && manifest.value.manifest.kind).toBe('index');
  });

  describe.each(registries)('$name', (r) => {
    it('reads manifests, blobs and tags, each checked against its digest', async () => {
      const pushed = await pushRandomImage(r.host, 'test/read', 'v1');
      const c = client(r.host);
      const manifest = await c.getManifest(ref(`${r.host}/test/read:v1`));
      expect(manifest.ok).toBe(true);
      if (!manifest.ok || manifest.value.manifest.kind !== 'manifest') throw new Error('no manifest');
      expect(`${r.host}/test/read@${manifest.value.digest}`).toBe(pushed);
      const layer = manifest.value.manifest.layers[0]!;
      const blob = await c.getBlob(ref(`${r.host}/test/read:v1`), layer.digest);
      expect(blob.ok && blob.value.byteLength).toBe(layer.size);
      const tags = await c.listTags(ref(`${r.host}/test/read:v1`));
      expect(tags.ok && tags.value).toContain('v1');
    });

    it('pushes what crane then reads', async () => {
      const c = client(r.host);
      const target = ref(`${r.host}/test/push:ours`);
      const config = Buffer.from('{}');
      const layer = randomBytes(512);
      const configDigest = await c.pushBlob(target, config);
      const layerDigest = await c.pushBlob(target, layer);
      expect(configDigest.ok && layerDigest.ok).toBe(true);
      if (!configDigest.ok || !layerDigest.ok) return;
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest.value, size: config.length },
          layers: [{ mediaType: 'application/octet-stream', digest: layerDigest.value, size: layer.length }],
        }),
      );
      const pushed = await c.pushManifest(target, manifest, MEDIA_TYPE_OCI_MANIFEST, 'ours');
      expect(pushed.ok).toBe(true);
      const crane = await tool('crane', ['digest', `${r.host}/test/push:ours`]);
      expect(pushed.ok && `${pushed.value}\n`).toBe(crane.stdout);
    });

    it('finds the Sigstore bundle that cosign v3 attached, through the referrers API or the tag fallback', async () => {
      const image = await pushRandomImage(r.host, 'test/signed', 'v1');
      const signed = await tool('cosign', [
        'sign',
        '--key',
        join(work, 'cosign.key'),
        '--use-signing-config=false',
        '--tlog-upload=false',
        image,
      ]);
      expect(signed.code).toBe(0);
      const digest = image.split('@')[1]!;
      const referrers = await client(r.host).listReferrers(ref(image), digest, {
        artifactType: MEDIA_TYPE_SIGSTORE_BUNDLE_V03,
      });
      expect(referrers.ok).toBe(true);
      if (!referrers.ok) return;
      expect(referrers.value.source).toBe(r.referrersApi ? 'api' : 'tag');
      expect(referrers.value.descriptors).toHaveLength(1);
      const bundle = await client(r.host).getManifest(ref(image), referrers.value.descriptors[0]!.digest);
      expect(bundle.ok && bundle.value.manifest.subject?.digest).toBe(digest);
    });

    it('names the registry, repository and reference of a missing tag', async () => {
      const got = await client(r.host).resolveDigest(ref(`${r.host}/test/read:missing`));
      expect(got.ok).toBe(false);
      if (!got.ok) {
        expect(got.error.code).toBe('MANIFEST_UNKNOWN');
        expect(got.error.message).toContain(`${r.host}/test/read:missing`);
      }
    });

    it('says UNAUTHORIZED without credentials where they are needed', async () => {
      const got = await client(r.host, false).getManifest(ref(`${r.host}/test/read:v1`));
      if (r.auth) expect(!got.ok && got.error.code).toBe('UNAUTHORIZED');
      else expect(got.ok).toBe(true);
    });
  });
});
