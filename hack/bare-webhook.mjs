// A mutating webhook that does nothing but answer, for make bench-kyverno's floor: what kube-apiserver, the machine
// and Node's HTTP/2 cost one webhook call, whatever a webhook does. It pins each Pod's images to the digest it is
// given, through node:http2's core API as webhook/server.ts does, registered by URL on loopback for the namespaces
// with the bench's label, as the tools' webhooks are. With `annotations`, it also writes, in one add of the map as
// Imprimatur does for an object that has none, the annotations both tools write (kyverno.io/verify-images and
// -scoped) and Imprimatur's record of validated images: the floor of a webhook that writes what Kyverno writes.
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
export async function startBareWebhook(cluster, { selectorLabel, digestOf, annotations = false }) {
  const { createServingCertificates } = await import(dist('pkg/tls/index.js'));
  const { VerificationRecord, VERIFY_IMAGES_ANNOTATION, VERIFY_IMAGES_SCOPED_ANNOTATION } = await import(
    dist('webhook/verify-annotations.js')
  );
  const { toValidatedImages, VALIDATED_IMAGES_ANNOTATIONS } = await import(dist('pkg/validated-images/index.js'));
  /** The annotations Imprimatur writes on a Pod of `pinned` images that the seed's check-image policy passed. */
  const annotationsOf = (request, pinned) => {
    const record = new VerificationRecord();
    for (const image of pinned) record.add('/check-image', 'check-image', image.replace(/:[^:/@]+@/, '@'), 'pass');
    const containers = request.object.spec.containers.map((c, i) => ({ ...c, image: pinned[i] }));
    const after = { ...request.object, spec: { ...request.object.spec, containers } };
    return {
      [VERIFY_IMAGES_ANNOTATION]: record.toFlatJson(),
      [VERIFY_IMAGES_SCOPED_ANNOTATION]: record.toScopedJson(),
      [VALIDATED_IMAGES_ANNOTATIONS.Fail]: toValidatedImages(request.kind, after),
    };
  };
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
      const containers = request.object?.spec?.containers ?? [];
      const pinned = containers.map((c) => (c.image.includes('@') ? c.image : `${c.image}@${digestOf(c.image)}`));
      const patch = containers.flatMap((c, i) =>
        c.image === pinned[i] ? [] : [{ op: 'replace', path: `/spec/containers/${i}/image`, value: pinned[i] }],
      );
      if (annotations && request.object?.metadata?.annotations === undefined) {
        patch.unshift({ op: 'add', path: '/metadata/annotations', value: annotationsOf(request, pinned) });
      }
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
