// Who is asking: the TCP peer address, the only source a hostile client cannot choose, unless that
// peer is a reverse proxy the operator named (--trusted-proxy). One spelling per address, so it
// matches the relays' advertised outbound addresses and keys rate limits consistently.
import { isIP } from 'node:net';

/** Lower-cased, IPv4-mapped IPv6 (`::ffff:127.0.0.2`) as plain IPv4, zone index dropped. */
export function normalizeAddress(address: string): string {
  const plain = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  return mapped ? mapped[1] : plain;
}

/**
 * The rate-limit key of an address: an IPv4 address as is, an IPv6 address by its /64, since one
 * host is routinely given a whole /64 and could otherwise rotate through it.
 */
export function sourceKey(address: string): string {
  const normalized = normalizeAddress(address);
  if (isIP(normalized) !== 6) return normalized;
  const [head, tail] = normalized.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups];
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64';
}

/** The operator's --trusted-proxy addresses, spelled as normalizeAddress spells peers. */
export function trustedProxySet(addresses: readonly string[]): ReadonlySet<string> {
  return new Set(addresses.map(normalizeAddress));
}

/**
 * The source of a request for per-source limits. A peer in `trustedProxies` speaks for its client
 * through X-Forwarded-For, of which only the right-most entry counts: it is the address that proxy
 * saw connect, while entries to its left were written by the client and may be forged. Any other
 * peer's X-Forwarded-For, and every other forwarding header (Forwarded, X-Real-IP, …), is ignored.
 * A trusted peer that forwards no usable address is its own source.
 */
export function requestSource(peer: string, forwardedFor: string | string[] | undefined, trustedProxies: ReadonlySet<string>): string {
  const address = normalizeAddress(peer);
  if (!trustedProxies.has(address) || forwardedFor === undefined) return address;
  const list = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = list.slice(list.lastIndexOf(',') + 1).trim();
  return isIP(last) === 0 ? address : normalizeAddress(last);
}
