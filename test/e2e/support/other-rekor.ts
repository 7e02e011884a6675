// A second local Rekor (hack/fake-rekor.mjs) with a key of its own: a transparency log the tests' trust root does not
// hold, for signatures that must be refused.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TOOLS_BIN } from './environment.js';

export interface OtherRekor {
  readonly url: string;
  /** Its trusted_root.json, which names only this log. */
  readonly trustedRoot: string;
  stop(): Promise<void>;
}

/** Starts it on a free port, with its state in a new folder under `parent`. */
export async function startOtherRekor(parent: string): Promise<OtherRekor> {
  const dir = mkdtempSync(join(parent, 'other-rekor-'));
  const child = spawn(join(TOOLS_BIN, 'node'), [join(ROOT, 'hack', 'fake-rekor.mjs'), '0', dir], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  };
  try {
    // rekor.url is written after trusted_root.json.
    const url = await waitForFile(join(dir, 'rekor.url'));
    return { url, trustedRoot: join(dir, 'trusted_root.json'), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (text) return text;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} never appeared`);
}
