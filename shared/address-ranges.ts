// Which destinations are private, loopback, link-local, multicast or reserved (docs/TPDP.md §7):
// one table for the exit policy (on resolved addresses) and the client (on literals it is given).
// Every spelling is reduced first by the WHATWG URL host parser, which reads IPv4 in decimal,
// octal and hex forms and writes IPv6 canonically, so no alternative spelling escapes the table.

type Range = [prefix: number[], bits: number];

const IPV4_FORBIDDEN: Range[] = [
  [[0], 8], [[10], 8], [[100, 64], 10], [[127], 8], [[169, 254], 16], [[172, 16], 12], [[192, 0, 0], 24],
  [[192, 0, 2], 24], [[192, 88, 99], 24], [[192, 168], 16], [[198, 18], 15], [[198, 51, 100], 24],
  [[203, 0, 113], 24], [[224], 4], [[240], 4],
];

// In 16-bit groups. ::/96 (IPv4-compatible), ::ffff:0:0/96 and NAT64 are checked as IPv4 instead.
const IPV6_FORBIDDEN: Range[] = [
  [[0xfe80], 10], [[0xfc00], 7], [[0xff00], 8], [[0x100, 0, 0, 0], 64], [[0x2001, 0xdb8], 32], [[0xfec0], 10],
  // Local-use NAT64 (RFC 8215): translates to whatever the site's gateway chooses.
  [[0x64, 0xff9b, 1], 48],
];

function inRange(parts: number[], partBits: number, [prefix, bits]: Range): boolean {
  for (let i = 0, left = bits; left > 0; i++, left -= partBits) {
    const mask = left >= partBits ? (1 << partBits) - 1 : ((1 << left) - 1) << (partBits - left);
    if ((parts[i] & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

export type ParsedHost = { kind: 'ipv4'; octets: number[] } | { kind: 'ipv6'; groups: number[] } | { kind: 'name'; name: string };

/** Reads a host (name, IPv4 in any spelling, IPv6 with or without brackets) as the URL parser does. */
export function parseHost(host: string): ParsedHost | undefined {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let canonical: string;
  try {
    canonical = new URL(`http://${bracketed}/`).hostname;
  } catch {
    return undefined;
  }
  if (canonical.startsWith('[')) return { kind: 'ipv6', groups: expandIPv6(canonical.slice(1, -1)) };
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(canonical);
  if (v4) return { kind: 'ipv4', octets: v4.slice(1).map(Number) };
  return { kind: 'name', name: canonical };
}

function expandIPv6(canonical: string): number[] {
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-compatible (::/96), IPv4-mapped
 * (::ffff:0:0/96), SIIT (::ffff:0:0:0/96) and NAT64 (64:ff9b::/96).
 */
function embeddedIPv4(groups: number[]): number[] | undefined {
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  const compatible = zero(0, 6);
  const mapped = zero(0, 5) && groups[5] === 0xffff;
  const siit = zero(0, 4) && groups[4] === 0xffff && groups[5] === 0;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6);
  if (!compatible && !mapped && !siit && !nat64) return undefined;
  return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255];
}

/** True for an IP literal an exit must not reach without --allow-private; false for names. */
export function isForbiddenIp(parsed: ParsedHost): boolean {
  if (parsed.kind === 'name') return false;
  const v4 = parsed.kind === 'ipv4' ? parsed.octets : embeddedIPv4(parsed.groups);
  if (v4) return IPV4_FORBIDDEN.some((range) => inRange(v4, 8, range));
  return parsed.kind === 'ipv6' && IPV6_FORBIDDEN.some((range) => inRange(parsed.groups, 16, range));
}

/** Destinations only an exit with --allow-private reaches, as far as a literal or name tells. */
export function isPrivateDestination(host: string): boolean {
  const parsed = parseHost(host);
  if (!parsed) return false;
  if (parsed.kind === 'name') return parsed.name === 'localhost' || parsed.name.endsWith('.localhost');
  return isForbiddenIp(parsed);
}
