// How a failed stream is told to an HTTP client: a status that says whose fault it is and a
// short text body naming the TpdpError code, so a person or a script can see why.
import { errorMessage } from '../node/log.ts';
import { isTpdpError, type ReasonName } from '../shared/errors.ts';

const STATUS: Partial<Record<ReasonName, number>> = {
  EXIT_POLICY_REFUSED: 403,
  TIMEOUT_ERROR: 504,
};

export function httpFailure(err: unknown): { status: number; body: string } {
  const code = isTpdpError(err) ? err.code : 'INTERNAL_ERROR';
  return { status: STATUS[code] ?? 502, body: `${code}: ${errorMessage(err)}\n` };
}
