// A rule's `context` compiled: each entry's templates and queries parsed once, its kind checked. What the entries
// load (a ConfigMap, a call to the API server) is loaded at admission, by the webhook; nothing is looked up here, so
// that a ConfigMap created after the policy is used as soon as it exists (a missing one is a rule error then, never a
// compile failure).
import {
  compileQuery,
  compileTextTemplate,
  compileValueSubstitution,
  type CompiledQuery,
  type TextTemplate,
  type ValueSubstitution,
} from '../conditions/index.js';
import type { Fail } from './attestors.js';

export type CompiledContextEntry = { readonly name: string; readonly field: string } & (
  | {
      readonly $case: 'configMap';
      /** The ConfigMap's name and namespace; either may hold variables ("{{ request.namespace }}"). */
      readonly configMapName: TextTemplate;
      readonly namespace: TextTemplate;
    }
  | {
      readonly $case: 'variable';
      readonly value?: ValueSubstitution;
      readonly jmesPath?: CompiledQuery;
      /** Used when the value (after jmesPath) is null or cannot be resolved. */
      readonly default?: ValueSubstitution;
    }
  | {
      readonly $case: 'apiCall';
      /** A GET against the API server, e.g. /api/v1/namespaces/{{ request.namespace }}/configmaps/keys. */
      readonly urlPath: TextTemplate;
      readonly jmesPath?: CompiledQuery;
      readonly default?: ValueSubstitution;
    }
);

/** Kyverno's context entry kinds that are parsed but not loaded here yet. */
const UNSUPPORTED_KINDS = ['imageRegistry', 'globalReference'] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Compiles `rule.context`; problems go to `fail`, naming the field. */
export function compileRuleContext(entries: readonly unknown[], field: string, fail: Fail): CompiledContextEntry[] {
  const compiled: CompiledContextEntry[] = [];
  const names = new Set<string>();
  entries.forEach((raw, k) => {
    const at = `${field}[${k}]`;
    const entry = (raw ?? {}) as Record<string, unknown>;
    const name = entry['name'];
    if (typeof name !== 'string' || name === '') return fail('InvalidSpec', `${at}.name`, 'Required value');
    if (!NAME.test(name))
      return fail('InvalidSpec', `${at}.name`, `invalid context entry name ${JSON.stringify(name)}`);
    if (names.has(name)) return fail('InvalidSpec', `${at}.name`, `duplicate context entry ${JSON.stringify(name)}`);
    names.add(name);
    for (const kind of UNSUPPORTED_KINDS) {
      if (entry[kind] !== undefined)
        return fail('Unsupported', `${at}.${kind}`, `context entries of kind ${kind} are not supported yet`);
    }
    const kinds = (['configMap', 'variable', 'apiCall'] as const).filter((kind) => entry[kind] !== undefined);
    if (kinds.length !== 1)
      return fail('InvalidSpec', at, 'a context entry needs exactly one of configMap, variable or apiCall');
    const base = { name, field: at };
    const text = (value: unknown, f: string): TextTemplate | undefined => {
      if (typeof value !== 'string' || value === '') {
        fail('InvalidSpec', f, 'Required value');
        return undefined;
      }
      const t = compileTextTemplate(value, f);
      if (!t.ok) for (const e of t.error) fail('InvalidSpec', e.field, e.message);
      return t.ok ? t.value : undefined;
    };
    const query = (value: unknown, f: string): CompiledQuery | undefined => {
      if (value === undefined || value === '') return undefined;
      if (typeof value !== 'string') {
        fail('InvalidSpec', f, 'expected a string');
        return undefined;
      }
      const q = compileQuery(value, f);
      if (!q.ok) for (const e of q.error) fail('InvalidSpec', e.field, e.message);
      return q.ok ? q.value : undefined;
    };
    const value = (v: unknown, f: string): ValueSubstitution | undefined => {
      if (v === undefined) return undefined;
      const s = compileValueSubstitution(v, f);
      if (!s.ok) for (const e of s.error) fail('InvalidSpec', e.field, e.message);
      return s.ok ? s.value : undefined;
    };
    const kind = kinds[0]!;
    const body = (entry[kind] ?? {}) as Record<string, unknown>;
    const f = `${at}.${kind}`;
    if (kind === 'configMap') {
      const configMapName = text(body['name'], `${f}.name`);
      // Kyverno's default: a ConfigMap without a namespace is looked up in "default".
      const namespace = text(body['namespace'] ?? 'default', `${f}.namespace`);
      if (configMapName && namespace) compiled.push({ ...base, $case: 'configMap', configMapName, namespace });
      return;
    }
    if (kind === 'variable') {
      if (body['value'] === undefined && (body['jmesPath'] === undefined || body['jmesPath'] === ''))
        return fail('InvalidSpec', f, 'a variable needs a value or a jmesPath');
      const v = value(body['value'], `${f}.value`);
      const q = query(body['jmesPath'], `${f}.jmesPath`);
      const d = value(body['default'], `${f}.default`);
      compiled.push({
        ...base,
        $case: 'variable',
        ...(v ? { value: v } : {}),
        ...(q ? { jmesPath: q } : {}),
        ...(d ? { default: d } : {}),
      });
      return;
    }
    const method = body['method'] ?? 'GET';
    if (method !== 'GET')
      return fail('Unsupported', `${f}.method`, `API calls with method ${String(method)} are not supported yet`);
    if (body['service'] !== undefined)
      return fail('Unsupported', `${f}.service`, 'API calls to services are not supported yet');
    const urlPath = text(body['urlPath'], `${f}.urlPath`);
    const q = query(body['jmesPath'], `${f}.jmesPath`);
    const d = value(body['default'], `${f}.default`);
    if (urlPath) {
      const path = urlPath.template.source;
      if (!path.startsWith('/')) return fail('InvalidSpec', `${f}.urlPath`, 'the URL path must start with /');
      compiled.push({
        ...base,
        $case: 'apiCall',
        urlPath,
        ...(q ? { jmesPath: q } : {}),
        ...(d ? { default: d } : {}),
      });
    }
  });
  return compiled;
}
