// Which verification a cached pass answers: one verifyImages entry of one rule of one policy at one version, for
// one image as the Pod writes it. Kyverno's key is the string `policy.UID;policy.resourceVersion;ruleName;imageRef`:
// a rule name or an image holding ";" can then spell another rule's key, and it leaves out which verifyImages entry
// of the rule passed, so when two entries of one rule match an image, a pass of the first answers for the second
// and its attestors are never checked. Here every part is kept, and encoded so that distinct keys never meet.

export interface CacheKey {
  readonly policyUid: string;
  /** Moves on every edit of the policy, so entries made under an earlier version are never hit again. */
  readonly policyResourceVersion: string;
  readonly ruleName: string;
  /** Position of the verifyImages entry in the rule: each entry has its own attestors. */
  readonly entry: number;
  /** The image exactly as the Pod writes it (tag, digest or both): what the admission asks about. */
  readonly image: string;
  /**
   * What the entry's attestors were filled with at this admission (keys from ConfigMaps, Secrets, variables), as a
   * fingerprint; '' for an entry whose attestors are all in the policy. A key rotated in its ConfigMap makes another
   * key, so a pass made with the old key is never reused.
   */
  readonly material: string;
}

/** The key of a verification; `policy` is typically the CompiledPolicy. */
export function toCacheKey(
  policy: { readonly uid: string; readonly resourceVersion: string },
  ruleName: string,
  entry: number,
  image: string,
  material = '',
): CacheKey {
  return { policyUid: policy.uid, policyResourceVersion: policy.resourceVersion, ruleName, entry, image, material };
}

/**
 * The string a key is stored under: each part preceded by its length, which makes the encoding injective whatever
 * characters the parts hold (";", quotes, digits), and costs a fraction of JSON (60 keys are made per admission).
 */
export function encodeCacheKey(key: CacheKey): string {
  const { policyUid: uid, policyResourceVersion: version, ruleName: rule, image, material } = key;
  const base = `${uid.length}:${uid}${version.length}:${version}${rule.length}:${rule}${key.entry}:${image.length}:${image}`;
  // After the image, whose length bounds it: a key with material never spells one without.
  return material === '' ? base : `${base}${material.length}:${material}`;
}
