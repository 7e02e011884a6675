// The OCI structures the client reads (https://github.com/opencontainers/image-spec: descriptor.md, manifest.md,
// image-index.md), checked at the boundary so nothing downstream handles unvalidated registry JSON.
import { err, ok, type Result } from '../result/index.js';
import { isDigest } from './digest.js';
import { INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES } from './media-types.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

/**
 * Parses manifest bytes. `contentType` is what the registry said; the document's own mediaType wins when present,
 * and the two must not disagree.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  maxEntries: number,
): Result<Manifest, string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return err(`manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) return err('manifest is not a JSON object');
  if (json['schemaVersion'] !== 2)
    return err(`unsupported manifest schemaVersion ${JSON.stringify(json['schemaVersion'])}`);
  const declared = typeof json['mediaType'] === 'string' ? json['mediaType'] : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const mediaType = declared ?? header ?? '';
  if (
    declared &&
    header &&
    header !== declared &&
    (INDEX_MEDIA_TYPES.has(header) || IMAGE_MANIFEST_MEDIA_TYPES.has(header))
  ) {
    return err(`manifest mediaType ${JSON.stringify(declared)} disagrees with Content-Type ${JSON.stringify(header)}`);
  }
  const common = {
    schemaVersion: 2 as const,
    mediaType,
    ...optionalString(json, 'artifactType'),
    ...(json['annotations'] !== undefined ? { annotations: json['annotations'] as Record<string, string> } : {}),
  };
  if (json['annotations'] !== undefined && !isStringMap(json['annotations']))
    return err('manifest annotations are not a string map');
  let subject: Descriptor | undefined;
  if (json['subject'] !== undefined) {
    const s = parseDescriptor(json['subject'], 'subject');
    if (!s.ok) return s;
    subject = s.value;
  }
  const isIndex = INDEX_MEDIA_TYPES.has(mediaType) || (!declared && Array.isArray(json['manifests']));
  if (isIndex) {
    const list = parseDescriptors(json['manifests'], 'manifests', maxEntries);
    if (!list.ok) return list;
    return ok({ kind: 'index', ...common, manifests: list.value, ...(subject ? { subject } : {}) });
  }
  if (!IMAGE_MANIFEST_MEDIA_TYPES.has(mediaType) && mediaType !== '') {
    return err(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
  }
  const config = parseDescriptor(json['config'], 'config');
  if (!config.ok) return config;
  const layers = parseDescriptors(json['layers'] ?? [], 'layers', maxEntries);
  if (!layers.ok) return layers;
  return ok({
    kind: 'manifest',
    ...common,
    mediaType: mediaType || (declared ?? ''),
    config: config.value,
    layers: layers.value,
    ...(subject ? { subject } : {}),
  });
}

export function parseDescriptor(value: unknown, at: string): Result<Descriptor, string> {
  if (!isObject(value)) return err(`${at}: descriptor is not an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string') return err(`${at}.mediaType: missing`);
  if (typeof digest !== 'string' || !isDigest(digest))
    return err(`${at}.digest: invalid digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    return err(`${at}.size: invalid size ${JSON.stringify(size)}`);
  if (value['annotations'] !== undefined && !isStringMap(value['annotations']))
    return err(`${at}.annotations: not a string map`);
  const platform = value['platform'];
  return ok({
    mediaType,
    digest,
    size,
    ...optionalString(value, 'artifactType'),
    ...(value['annotations'] !== undefined ? { annotations: value['annotations'] as Record<string, string> } : {}),
    ...(isObject(platform) && typeof platform['architecture'] === 'string' && typeof platform['os'] === 'string'
      ? {
          platform: {
            architecture: platform['architecture'],
            os: platform['os'],
            ...(typeof platform['variant'] === 'string' ? { variant: platform['variant'] } : {}),
          },
        }
      : {}),
  });
}

function parseDescriptors(value: unknown, at: string, maxEntries: number): Result<Descriptor[], string> {
  if (!Array.isArray(value)) return err(`${at}: not an array`);
  if (value.length > maxEntries) return err(`${at}: ${value.length} entries exceed the limit of ${maxEntries}`);
  const out: Descriptor[] = [];
  for (let i = 0; i < value.length; i++) {
    const d = parseDescriptor(value[i], `${at}[${i}]`);
    if (!d.ok) return d;
    out.push(d.value);
  }
  return ok(out);
}

function optionalString(obj: Record<string, unknown>, key: string): Record<string, string> {
  return typeof obj[key] === 'string' ? { [key]: obj[key] } : {};
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringMap(v: unknown): boolean {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}
