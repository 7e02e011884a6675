// @sigstore/verify throws VerificationError with the telling part often in `cause` ("Failed to verify certificate
// chain" caused by "certificate is not valid or expired at the specified date"). This is where its exceptions become
// message text, once.
export function toSigstoreMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return `${e.message}${cause}`;
}
