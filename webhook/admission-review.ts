// AdmissionReview v1 (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request):
// decoded from untrusted bytes into the fields we use, with an error that names the field when it is not one.
import { err, ok, type Result } from '../pkg/result/index.js';

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
}

export interface AdmissionReview {
  readonly apiVersion: string;
  readonly request: AdmissionRequest;
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export function decodeAdmissionReview(body: unknown): Result<AdmissionReview, string> {
  if (!isObject(body)) return err('the body is not a JSON object');
  if (body['apiVersion'] !== 'admission.k8s.io/v1') {
    return err(`apiVersion: unsupported value ${JSON.stringify(body['apiVersion'])}: expected "admission.k8s.io/v1"`);
  }
  if (body['kind'] !== 'AdmissionReview')
    return err(`kind: unsupported value ${JSON.stringify(body['kind'])}: expected "AdmissionReview"`);
  const request = body['request'];
  if (!isObject(request)) return err('request: Required value');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return err('request.uid: Required value');
  const kind = request['kind'];
  if (!isObject(kind) || typeof kind['kind'] !== 'string' || typeof kind['version'] !== 'string') {
    return err('request.kind: Required value: expected {group, version, kind}');
  }
  const operation = request['operation'];
  if (typeof operation !== 'string' || !OPERATIONS.has(operation)) {
    return err(
      `request.operation: unsupported value ${JSON.stringify(operation)}: expected CREATE, UPDATE, DELETE or CONNECT`,
    );
  }
  for (const f of ['namespace', 'name', 'subResource'] as const) {
    if (request[f] !== undefined && typeof request[f] !== 'string') return err(`request.${f}: expected a string`);
  }
  return ok({ apiVersion: body['apiVersion'], request: request as unknown as AdmissionRequest });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
