// Reason codes: one byte in DESTROY and END cells (docs/TPDP.md §"Reasons"), and the `code` of
// every TpdpError a caller sees. Torpydo's three codes keep their names.

export const REASONS = {
  NONE: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  DONE: 3,
  TIMEOUT_ERROR: 4,
  DESTINATION_CONNECTION_ERROR: 5,
  EXIT_POLICY_REFUSED: 6,
  RESOURCE_LIMIT: 7,
  HOP_UNREACHABLE: 8,
  INTEGRITY_ERROR: 9,
  DESTINATION_RESOLVE_ERROR: 10,
  RELAY_SHUTDOWN: 11,
  LINK_CLOSED: 12,
} as const;

export type ReasonName = keyof typeof REASONS;

const NAMES = new Map<number, ReasonName>(Object.entries(REASONS).map(([name, value]) => [value, name as ReasonName]));

/** Maps a reason byte from the wire to its name; unknown values are a protocol error. */
export function reasonName(value: number): ReasonName {
  return NAMES.get(value) ?? 'PROTOCOL_ERROR';
}

const DESCRIPTIONS: Record<ReasonName, string> = {
  NONE: 'no reason given',
  PROTOCOL_ERROR: 'protocol error',
  INTERNAL_ERROR: 'internal error',
  DONE: 'closed normally',
  TIMEOUT_ERROR: 'timed out',
  DESTINATION_CONNECTION_ERROR: 'the exit could not connect to the destination',
  EXIT_POLICY_REFUSED: "the destination is refused by the exit's policy",
  RESOURCE_LIMIT: 'a resource limit was reached',
  HOP_UNREACHABLE: 'the next relay could not be reached',
  INTEGRITY_ERROR: 'a cell failed its integrity check',
  DESTINATION_RESOLVE_ERROR: 'the exit could not resolve the destination name',
  RELAY_SHUTDOWN: 'a relay on the path shut down',
  LINK_CLOSED: 'a connection on the path closed',
};

export function describeReason(code: ReasonName): string {
  return DESCRIPTIONS[code];
}

/** An error with a TPDP reason code, so callers (CLI, proxy, extension) can react to the kind. */
export class TpdpError extends Error {
  readonly code: ReasonName;
  constructor(code: ReasonName, message?: string) {
    super(message ?? describeReason(code));
    this.name = 'TpdpError';
    this.code = code;
  }
}

export function isTpdpError(err: unknown): err is TpdpError {
  return err instanceof TpdpError;
}
