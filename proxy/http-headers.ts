// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, so a proxy drops them in both
// directions, along with any header the Connection (or Proxy-Connection) header names. Nothing
// is added either: no Via, no Forwarded, which would only tell the destination more.

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The end-to-end headers of a raw header list ([name, value, name, value, ...] as node:http
 * gives them, spelling and order kept), minus `drop` (lowercase names).
 */
export function endToEndHeaders(rawHeaders: readonly string[], drop: readonly string[] = []): string[] {
  const dropped = new Set([...HOP_BY_HOP, ...drop]);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === 'connection' || name === 'proxy-connection') {
      for (const token of rawHeaders[i + 1].split(',')) dropped.add(token.trim().toLowerCase());
    }
  }
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!dropped.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}
