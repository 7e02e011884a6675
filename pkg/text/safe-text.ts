// Registry text on its way into a message. Failure messages end up in admission deny messages, events and logs,
// where a hostile registry's control characters could forge log lines or hide text behind bidi overrides
// (CVE-2021-42574, "Trojan Source"), and its sizes could flood them. Every string a registry sent passes through
// here before any message quotes it; nothing here recurses into registry data or calls JSON.stringify on it.

/** How much of a registry-supplied string a message quotes. */
export const MAX_QUOTED_LENGTH = 64;

/**
 * C0 and C1 controls and DEL; Unicode's bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069)
 * and marks (U+200E, U+200F, U+061C); and the line and paragraph separators, which some log viewers break on.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/gu;

/**
 * Registry text made safe for a message: unsafe characters become one space per run (so words do not merge), lone
 * surrogates become U+FFFD, and the result is cut to `max` UTF-16 code units, with an ellipsis when it was longer.
 * Never splits a surrogate pair.
 */
export function sanitizeText(text: string, max: number): string {
  // Cut first (with room for what the clean-up removes) so a megabyte of input costs no more than its prefix.
  const prefix = truncateCodePoints(text, max * 4 + 16);
  const clean = prefix.toWellFormed().replace(UNSAFE, ' ');
  const cut = truncateCodePoints(clean, max);
  return cut.length < clean.length || prefix.length < text.length ? `${cut}…` : cut;
}

/**
 * A registry-supplied value quoted for a message: strings in double quotes with `"` and `\` escaped, after
 * sanitizeText; other JSON values by their kind (never serialised, so no depth or size reaches the message).
 */
export function quoteText(value: unknown, max: number = MAX_QUOTED_LENGTH): string {
  if (typeof value === 'string') return `"${sanitizeText(value, max).replace(/["\\]/g, (c) => `\\${c}`)}"`;
  if (typeof value === 'number')
    return Number.isFinite(value) ? sanitizeText(String(value), 24) : 'a non-finite number';
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The first `max` UTF-16 code units of `text`, never ending inside a surrogate pair. */
function truncateCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  // A high surrogate at the cut would be left alone; drop it with its pair.
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}
