// An exit's port policy summary (docs/POOL.md, "Exit policy summary"): Tor's microdescriptor `p`
// line, "accept" or "reject" then a list of port ranges. The descriptor carries it in canonical
// form only (ranges ascending, disjoint, not adjacent, no leading zeros), so one policy has one
// text; operators may write it loosely and `normalizePortPolicy` puts it in that form.

export type PortPolicy = {
  /** True: the listed ports are accepted and every other one refused; false: the reverse. */
  accept: boolean;
  /** Inclusive ranges within 1–65535, ascending, disjoint and not adjacent. */
  ranges: ReadonlyArray<readonly [number, number]>;
};

/** Tor's MAX_EXITPOLICY_SUMMARY_LEN: room for Tor's default exit policy summary twice over. */
export const MAX_PORT_POLICY_CHARS = 1000;
export const MAX_PORT = 65_535;
export const ACCEPT_ALL = 'accept 1-65535';
export const REJECT_ALL = 'reject 1-65535';

const PORT = '([1-9][0-9]{0,4})';
const ITEM = new RegExp(`^${PORT}(?:-${PORT})?$`);

/** Parses a canonical summary; throws Error saying what is wrong (the caller names the field). */
export function parsePortPolicy(text: string): PortPolicy {
  if (text.length > MAX_PORT_POLICY_CHARS) throw new Error(`longer than ${MAX_PORT_POLICY_CHARS} characters`);
  const match = /^(accept|reject) (\S+)$/.exec(text);
  if (!match) throw new Error('must be "accept" or "reject", one space, then port ranges such as 80,443,8000-9000');
  const ranges: [number, number][] = [];
  for (const item of match[2].split(',')) {
    const [low, high] = parseItem(item);
    const previous = ranges[ranges.length - 1];
    if (previous && low <= previous[1] + 1) {
      throw new Error(`ranges must be ascending, disjoint and not adjacent (merged), at "${item.slice(0, 20)}"`);
    }
    ranges.push([low, high]);
  }
  return { accept: match[1] === 'accept', ranges };
}

function parseItem(item: string): [number, number] {
  const m = ITEM.exec(item);
  const low = m ? Number(m[1]) : NaN;
  const high = m?.[2] !== undefined ? Number(m[2]) : low;
  if (!m || high > MAX_PORT) throw new Error(`"${item.slice(0, 20)}" is not a port (1-65535) or a range of ports`);
  if (m[2] !== undefined && high <= low) throw new Error(`range "${item}" must go from a lower port to a higher one`);
  return [low, high];
}

export function formatPortPolicy(policy: PortPolicy): string {
  const items = policy.ranges.map(([low, high]) => (low === high ? String(low) : `${low}-${high}`));
  return `${policy.accept ? 'accept' : 'reject'} ${items.join(',')}`;
}

/**
 * Reads a policy as an operator writes it: "accept" or "reject", then ports and ranges separated
 * by commas and/or spaces, in any order, overlapping or not, or `*` for every port; returns the
 * canonical summary. "reject *" is a relay that is no exit.
 */
export function normalizePortPolicy(input: string): string {
  const match = /^\s*(accept|reject)\s+(.+?)\s*$/i.exec(input.slice(0, 4 * MAX_PORT_POLICY_CHARS));
  if (!match) throw new Error('must be "accept" or "reject" followed by ports, e.g. "accept 80,443" or "reject *"');
  const accept = match[1].toLowerCase() === 'accept';
  const items = match[2].split(/[\s,]+/).filter((s) => s !== '');
  const parsed = items.map((item) => (item === '*' ? ([1, MAX_PORT] as [number, number]) : parseLooseItem(item)));
  parsed.sort((a, b) => a[0] - b[0]);
  const ranges: [number, number][] = [];
  for (const [low, high] of parsed) {
    const last = ranges[ranges.length - 1];
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else ranges.push([low, high]);
  }
  const text = formatPortPolicy({ accept, ranges });
  parsePortPolicy(text);
  return text;
}

function parseLooseItem(item: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
  const low = m ? Number(m[1]) : NaN;
  const high = m?.[2] !== undefined ? Number(m[2]) : low;
  if (!m || low < 1 || high > MAX_PORT || high < low) throw new Error(`"${item.slice(0, 20)}" is not a port (1-65535), a range such as 8000-9000, or *`);
  return [low, high];
}

export function policyAccepts(policy: PortPolicy, port: number): boolean {
  const listed = policy.ranges.some(([low, high]) => port >= low && port <= high);
  return listed === policy.accept;
}

/** Whether the policy accepts any port at all: a relay that accepts none is no exit. */
export function acceptsAnyPort(policy: PortPolicy): boolean {
  if (policy.accept) return true;
  return !(policy.ranges.length === 1 && policy.ranges[0][0] === 1 && policy.ranges[0][1] === MAX_PORT);
}
