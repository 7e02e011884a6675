// The message of a denied admission, byte for byte as Kyverno writes it (pkg/webhooks/utils/block.go,
// GetBlockedMessages), which is what the seed document shows under `kubectl run unsigned`:
//
//   <blank line>
//   resource Pod/default/unsigned was blocked due to the following policies <- one trailing space
//   <blank line>
//   check-image:
//     check-image: 'image verification failed for <image>: signature not found'
//
// The policy → rule → message map is YAML as Go's yaml.v2 writes it: keys sorted, a message that cannot be a plain
// scalar in single quotes, and a line longer than 80 columns folded, the rest indented four spaces (a scalar's indent
// under a nested mapping); a YAML reader joins the lines back into the message. yaml.v2 folds at the first space past
// column 80, which can split the seed's words ("signature / not found") wherever a long image name puts them. This
// folds once, at the end of the image reference, which is where the seed document shows the fold, so the seed's words
// and the details after them stay on one line that can be read and searched for.

export interface BlockedRule {
  /** `name` for a ClusterPolicy, `namespace/name` for a Policy. */
  readonly policy: string;
  readonly rule: string;
  readonly message: string;
}

export interface BlockedResource {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** yaml.v2's best_width: a line longer than this is folded. */
const BEST_WIDTH = 80;

export function formatBlockedMessage(resource: BlockedResource, rules: readonly BlockedRule[]): string {
  const byPolicy = new Map<string, Map<string, string>>();
  for (const r of rules) {
    const policy = byPolicy.get(r.policy) ?? new Map<string, string>();
    policy.set(r.rule, r.message);
    byPolicy.set(r.policy, policy);
  }
  const lines: string[] = [];
  for (const policy of [...byPolicy.keys()].sort(compareBytes)) {
    lines.push(`${toYamlKey(policy)}:`);
    const ruleMessages = byPolicy.get(policy)!;
    for (const rule of [...ruleMessages.keys()].sort(compareBytes)) {
      lines.push(toYamlEntry(`  ${toYamlKey(rule)}: `, ruleMessages.get(rule)!));
    }
  }
  const { kind, namespace, name } = resource;
  return `\n\nresource ${kind}/${namespace}/${name} was blocked due to the following policies \n\n${lines.join('\n')}\n`;
}

/** Go sorts map keys by their bytes. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// A conservative plain scalar: what yaml.v2 would also leave unquoted (no indicator first, no ": " or " #", no
// leading or trailing space). Anything else is single-quoted, which is always valid for one-line text.
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./ -]*$/;

function isPlain(text: string): boolean {
  return PLAIN.test(text) && !text.endsWith(' ') && !/^(true|false|yes|no|on|off|null|~|y|n)$/i.test(text);
}

function toYamlKey(text: string): string {
  return isPlain(text) ? text : `'${oneLine(text).replace(/'/g, "''")}'`;
}

/** `prefix` then the message, plain or single-quoted, folded once after its first ": " when the line is long. */
function toYamlEntry(prefix: string, message: string): string {
  const text = oneLine(message);
  if (isPlain(text)) return `${prefix}${text}`;
  const quoted = text.replace(/'/g, "''");
  const line = `${prefix}'${quoted}'`;
  const fold = quoted.indexOf(': ');
  if (line.length <= BEST_WIDTH || fold < 0) return line;
  return `${prefix}'${quoted.slice(0, fold + 1)}\n    ${quoted.slice(fold + 2)}'`;
}

/** Messages are one line; a line break inside one would change the layout, so it becomes a space. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
