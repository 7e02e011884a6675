// The operator's trust root: a Sigstore trusted_root.json (the file cosign takes as --trusted-root and that the
// public-good TUF repository publishes as a target; https://github.com/sigstore/protobuf-specs/blob/main/protos/
// sigstore_trustroot.proto). It is read once at start-up and never fetched: verification is air-gapped by default.
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { err, ok, type Result } from '../result/index.js';

const TRUSTED_ROOT_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+\.\d+)?\+json(;version=[\d.]+)?$/;

/** Trust material as @sigstore/verify takes it, with no signing keys: those come from each policy. */
export type TrustRoot = Omit<TrustMaterial, 'publicKey'>;

/** Nothing trusted: what the operator has when it is started without --trusted-root. */
export const EMPTY_TRUST_ROOT: TrustRoot = Object.freeze({
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
});

/** Parses a trusted_root.json; `source` names the file in messages. */
export function parseTrustedRoot(text: string, source: string): Result<TrustRoot, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return err(`${source}: not JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return err(`${source}: a trusted root is a JSON object`);
  }
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPE.test(mediaType)) {
    return err(
      `${source}: mediaType ${JSON.stringify(mediaType)} is not a Sigstore trusted root ` +
        '(application/vnd.dev.sigstore.trustedroot+json;version=0.1)',
    );
  }
  try {
    const material = toTrustMaterial(TrustedRoot.fromJSON(json));
    const { certificateAuthorities, timestampAuthorities, tlogs, ctlogs } = material;
    const empty = [...certificateAuthorities, ...timestampAuthorities].find((ca) => ca.certChain.length === 0);
    if (empty) return err(`${source}: a certificate authority has an empty certChain`);
    return ok({ certificateAuthorities, timestampAuthorities, tlogs, ctlogs });
  } catch (e) {
    // protobuf-specs and @sigstore/core throw on a missing field or a key or certificate that does not decode.
    return err(`${source}: ${(e as Error).message}`);
  }
}

/** What a trust root holds, for the start-up log line. */
export function describeTrustRoot(root: TrustRoot): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return [
    n(root.tlogs.length, 'transparency log', 'transparency logs'),
    n(root.ctlogs.length, 'CT log', 'CT logs'),
    n(root.certificateAuthorities.length, 'certificate authority', 'certificate authorities'),
    n(root.timestampAuthorities.length, 'timestamp authority', 'timestamp authorities'),
  ].join(', ');
}
