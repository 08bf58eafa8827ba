// SOCKS5 reply bytes (RFC 1928 §6) and how a TpdpError from the circuit maps onto them.
import { isTpdpError, type ReasonName } from '../shared/errors.ts';

export const SOCKS5_REPLY = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

export type Socks5ReplyCode = (typeof SOCKS5_REPLY)[keyof typeof SOCKS5_REPLY];

/**
 * A reply to a request. BND.ADDR is always 0.0.0.0:0: the bound address is the exit's, which
 * the client has no use for and the proxy does not know (Tor answers the same).
 */
export function socks5Reply(code: Socks5ReplyCode): Uint8Array {
  return Uint8Array.of(0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
}

const BY_REASON: Partial<Record<ReasonName, Socks5ReplyCode>> = {
  EXIT_POLICY_REFUSED: SOCKS5_REPLY.NOT_ALLOWED,
  DESTINATION_RESOLVE_ERROR: SOCKS5_REPLY.HOST_UNREACHABLE,
  DESTINATION_CONNECTION_ERROR: SOCKS5_REPLY.CONNECTION_REFUSED,
  TIMEOUT_ERROR: SOCKS5_REPLY.TTL_EXPIRED,
};

/** The reply code for a failed connect: the TpdpError's code where SOCKS has a match. */
export function socks5ReplyCodeFor(err: unknown): Socks5ReplyCode {
  return (isTpdpError(err) && BY_REASON[err.code]) || SOCKS5_REPLY.GENERAL_FAILURE;
}
