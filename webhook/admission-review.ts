// AdmissionReview v1 (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request):
// decoded from untrusted bytes into the fields we use, with an error that names the field when it is not one.
import { err, ok, type Result } from '../pkg/result/index.js';
import { quoteText } from '../pkg/text/index.js';

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly resource?: { readonly group: string; readonly version: string; readonly resource: string };
  readonly subResource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly object?: unknown;
  readonly oldObject?: unknown;
  readonly dryRun?: boolean;
  /** Who asked; the empty user when the API server sent none. */
  readonly userInfo: { readonly username: string; readonly groups: readonly string[] };
}

export interface AdmissionReview {
  readonly apiVersion: string;
  readonly request: AdmissionRequest;
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export function decodeAdmissionReview(body: unknown): Result<AdmissionReview, string> {
  if (!isObject(body)) return err('the body is not a JSON object');
  if (body['apiVersion'] !== 'admission.k8s.io/v1') {
    return err(`apiVersion: unsupported value ${quoteText(body['apiVersion'])}: expected "admission.k8s.io/v1"`);
  }
  if (body['kind'] !== 'AdmissionReview')
    return err(`kind: unsupported value ${quoteText(body['kind'])}: expected "AdmissionReview"`);
  const request = body['request'];
  if (!isObject(request)) return err('request: Required value');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return err('request.uid: Required value');
  const kind = request['kind'];
  if (
    !isObject(kind) ||
    typeof kind['kind'] !== 'string' ||
    typeof kind['version'] !== 'string' ||
    (kind['group'] !== undefined && typeof kind['group'] !== 'string')
  ) {
    return err('request.kind: Required value: expected {group, version, kind}');
  }
  const operation = request['operation'];
  if (typeof operation !== 'string' || !OPERATIONS.has(operation)) {
    return err(
      `request.operation: unsupported value ${quoteText(operation)}: expected CREATE, UPDATE, DELETE or CONNECT`,
    );
  }
  for (const f of ['namespace', 'name', 'subResource'] as const) {
    if (request[f] !== undefined && typeof request[f] !== 'string') return err(`request.${f}: expected a string`);
  }
  const userInfo = request['userInfo'];
  if (userInfo !== undefined && !isObject(userInfo)) return err('request.userInfo: expected an object');
  const username = userInfo?.['username'] ?? '';
  const groups = userInfo?.['groups'] ?? [];
  if (typeof username !== 'string') return err('request.userInfo.username: expected a string');
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    return err('request.userInfo.groups: expected a list of strings');
  }
  return ok({
    apiVersion: body['apiVersion'],
    request: {
      ...(request as unknown as AdmissionRequest),
      kind: { group: (kind['group'] as string | undefined) ?? '', version: kind['version'], kind: kind['kind'] },
      userInfo: { username, groups: groups as string[] },
    },
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
