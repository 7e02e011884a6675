// Reads the --trusted-root file of `run` and `verify-image`. Without the flag nothing is trusted beyond what each
// policy names; policies that need more are then refused when they compile, with the reason.
import { readFileSync } from 'node:fs';
import { err, ok, type Result } from '../pkg/result/index.js';
import { EMPTY_TRUST_ROOT, parseTrustedRoot, type TrustRoot } from '../pkg/trust/index.js';

export function loadTrustedRoot(path: string | undefined): Result<TrustRoot, string> {
  if (path === undefined) return ok(EMPTY_TRUST_ROOT);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return err(`--trusted-root: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parseTrustedRoot(text, path);
  return parsed.ok ? parsed : err(`--trusted-root: ${parsed.error}`);
}
