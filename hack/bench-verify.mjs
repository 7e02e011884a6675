// In-process figures for `make bench`: the time of one verification with a fresh registry client (so no token or
// HTTP reuse), first in a new process and then warmed up, and the process's memory afterwards.
// Usage: node bench-verify.mjs IMAGE KEY_FILE INSECURE_REGISTRY [ROUNDS]
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

const [image, keyFile, insecure, roundsText = '50'] = process.argv.slice(2);
const root = new URL('..', import.meta.url);
const { verifyImage } = await import(new URL('dist/pkg/cosign/index.js', root).href);
const { RegistryClient } = await import(new URL('dist/pkg/oci/index.js', root).href);
const { parseImageRef } = await import(new URL('dist/pkg/imageref/index.js', root).href);
const { compileKeyAttestors } = await import(new URL('dist/pkg/policy/index.js', root).href);

// The benchmark's signatures are made with --tlog-upload=false, as cosign's are verified with --insecure-ignore-tlog.
const attestors = compileKeyAttestors([readFileSync(keyFile, 'utf8')], { ignoreTlog: true });
if (!attestors.ok) throw new Error(attestors.error.map((e) => e.message).join('; '));
const request = { image: parseImageRef(image).value, attestors: [attestors.value] };

async function once() {
  const t = performance.now();
  const outcome = await verifyImage(request, { registry: new RegistryClient({ insecureRegistries: [insecure] }) });
  if (!outcome.verified) throw new Error(outcome.message);
  return performance.now() - t;
}

const first = await once();
const rounds = Number(roundsText);
const times = [];
for (let i = 0; i < rounds; i++) times.push(await once());
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
process.stdout.write(
  `${first.toFixed(1)} ${pick(0.5)} ${pick(0.99)} ${(process.memoryUsage().rss / 1048576).toFixed(0)}\n`,
);
