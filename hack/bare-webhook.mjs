// A mutating webhook that does nothing but answer, for make bench-kyverno's floor: what kube-apiserver, the machine
// and Node's HTTP/2 cost one webhook call, whatever a webhook does. It pins each Pod's images to the digest it is
// given (the patch the tools make, without their annotations), through node:http2's core API as webhook/server.ts
// does, registered by URL on loopback for the namespaces with the bench's label, as the tools' webhooks are.
import { Buffer } from 'node:buffer';
import { createSecureServer } from 'node:http2';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './bench-support.mjs';

const CONFIGURATION = 'bench-bare-webhook';
const dist = (path) => pathToFileURL(join(ROOT, 'dist', path)).href;

/**
 * Starts the server and registers it for Pod CREATEs in the namespaces labelled `selectorLabel` (key=value).
 * `digestOf(image)` names the digest to pin an image to. Returns { stop() }, which unregisters it and closes it.
 */
export async function startBareWebhook(cluster, { selectorLabel, digestOf }) {
  const { createServingCertificates } = await import(dist('pkg/tls/index.js'));
  const tls = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  const server = createSecureServer({ cert: tls.certPem, key: tls.keyPem });
  const sessions = new Set();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const request = JSON.parse(Buffer.concat(chunks).toString()).request;
      const patch = (request.object?.spec?.containers ?? []).flatMap((c, i) =>
        c.image.includes('@')
          ? []
          : [{ op: 'replace', path: `/spec/containers/${i}/image`, value: `${c.image}@${digestOf(c.image)}` }],
      );
      const response = { uid: request.uid, allowed: true };
      if (patch.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
      }
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [key, value] = selectorLabel.split('=');
  const configuration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: CONFIGURATION },
    webhooks: [
      {
        name: 'bare.bench.imprimatur.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
        clientConfig: {
          url: `https://127.0.0.1:${server.address().port}/mutate`,
          caBundle: Buffer.from(tls.caPem).toString('base64'),
        },
        namespaceSelector: { matchLabels: { [key]: value } },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      },
    ],
  };
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(configuration));
  return {
    async stop() {
      await cluster.tryKubectl(['delete', 'mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
      server.close();
      for (const session of sessions) session.destroy();
    },
  };
}
