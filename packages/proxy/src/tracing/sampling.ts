// The sampling decision for a request that arrives without one, as Envoy takes it: from the request's
// x-request-id rather than a fresh random draw, so every proxy that sees the same request id (and the same
// percentage) decides the same way, and a request left unsampled at the ingress stays unsampled downstream
// without any header saying so.

/** 0..9999 from a request id: its first 8 hex digits (a UUID's), else a string hash. No allocation. */
export function requestIdBucket(requestId: string): number {
  let value = 0;
  let hex = requestId.length >= 8;
  for (let i = 0; hex && i < 8; i++) {
    const c = requestId.charCodeAt(i);
    const digit =
      c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (digit < 0) hex = false;
    else value = value * 16 + digit;
  }
  if (!hex) {
    // FNV-1a over the id's UTF-16 code units: request ids that are not UUIDs still spread evenly.
    value = 0x811c9dc5;
    for (let i = 0; i < requestId.length; i++) value = Math.imul(value ^ requestId.charCodeAt(i), 0x01000193);
    value >>>= 0;
  }
  return value % 10_000;
}

/** Whether a request is sampled at `percent` (0-100, in steps of 0.01) by its request id. */
export function sampledByRequestId(requestId: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return requestIdBucket(requestId) < Math.round(percent * 100);
}
