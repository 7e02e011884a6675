// metav1.MicroTime on the wire: RFC 3339 with six fractional digits. The API server refuses JavaScript's
// toISOString() (three digits) for a MicroTime field ("cannot parse ".000Z" as ".000000"").

export function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
