// The SOCKS5 handshake (RFC 1928 greeting and request, RFC 1929 username/password) as an
// explicit incremental state machine: bytes may arrive split anywhere, memory stays at one
// fixed field buffer, and every malformed input fails with the reply the client should get.
import { formatIpv6 } from './ipv6-format.ts';
import { SOCKS5_REPLY, socks5Reply } from './socks5-reply.ts';

export const SOCKS5_METHOD = { NO_AUTH: 0x00, USERNAME_PASSWORD: 0x02, NO_ACCEPTABLE: 0xff } as const;

export type Socks5Event =
  /** Answer with [0x05, method]. */
  | { type: 'method'; method: typeof SOCKS5_METHOD.NO_AUTH | typeof SOCKS5_METHOD.USERNAME_PASSWORD }
  /** Answer with [0x01, 0x00]: any pair is accepted, it only selects an isolation key. */
  | { type: 'credentials'; username: Uint8Array; password: Uint8Array }
  /** The handshake is complete; `rest` holds bytes the client sent after the request. */
  | { type: 'connect'; host: string; port: number; rest: Uint8Array }
  /** The handshake is refused: write `reply` (if any), then close. Always the last event. */
  | { type: 'refuse'; reason: string; reply?: Uint8Array };

/** Carries a refusal from deep in the parser out to push(). */
class Refusal extends Error {
  readonly reply: Uint8Array | undefined;
  constructor(reason: string, reply?: Uint8Array) {
    super(reason);
    this.reply = reply;
  }
}

type State =
  | 'greeting' // VER NMETHODS
  | 'methods'
  | 'auth' // VER ULEN
  | 'username'
  | 'password-length'
  | 'password'
  | 'request' // VER CMD RSV ATYP
  | 'domain-length'
  | 'target' // DST.ADDR DST.PORT
  | 'done'
  | 'failed';

const ATYP = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;
const CMD_CONNECT = 0x01;
// Every field is announced by a one-byte length, so 255 bytes plus the 2-byte port bound it.
const MAX_FIELD = 255 + 2;
// SOCKS4 clients understand only their own reply: VN 0, CD 91 "request rejected or failed".
const SOCKS4_REJECTED = Uint8Array.of(0x00, 0x5b, 0, 0, 0, 0, 0, 0);
const AUTH_FAILED = Uint8Array.of(0x01, 0x01);

export class Socks5Parser {
  private state: State = 'greeting';
  private readonly field = new Uint8Array(MAX_FIELD);
  private need = 2;
  private have = 0;
  private username = new Uint8Array(0);
  private atyp = 0;

  /** Feeds bytes from the client; returns what the server must answer, in order. */
  push(chunk: Uint8Array): Socks5Event[] {
    if (this.state === 'done' || this.state === 'failed') throw new Error(`SOCKS5 parser is ${this.state}`);
    const events: Socks5Event[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.need - this.have, chunk.length - offset);
      this.field.set(chunk.subarray(offset, offset + take), this.have);
      this.have += take;
      offset += take;
      if (this.have < this.need) break;
      const field = this.field.subarray(0, this.need);
      this.have = 0;
      let event: Socks5Event | undefined;
      try {
        event = this.step(field);
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        this.state = 'failed';
        events.push({ type: 'refuse', reason: err.message, reply: err.reply });
        break;
      }
      if (event?.type === 'connect') {
        events.push({ ...event, rest: chunk.slice(offset) });
        break;
      }
      if (event) events.push(event);
    }
    return events;
  }

  /** Consumes one complete field and moves to the next state. */
  private step(field: Uint8Array): Socks5Event | undefined {
    switch (this.state) {
      case 'greeting': {
        if (field[0] === 0x04) throw new Refusal('SOCKS4 is not supported', SOCKS4_REJECTED);
        if (field[0] !== 0x05) throw new Refusal(`not a SOCKS5 greeting (version byte 0x${hex(field[0])})`);
        if (field[1] === 0) throw new Refusal('greeting offers no method', Uint8Array.of(0x05, SOCKS5_METHOD.NO_ACCEPTABLE));
        return this.expect('methods', field[1]);
      }
      case 'methods': {
        // Username/password wins when offered: it is how a client asks for its own circuit.
        if (field.includes(SOCKS5_METHOD.USERNAME_PASSWORD)) {
          this.expect('auth', 2);
          return { type: 'method', method: SOCKS5_METHOD.USERNAME_PASSWORD };
        }
        if (field.includes(SOCKS5_METHOD.NO_AUTH)) {
          this.expect('request', 4);
          return { type: 'method', method: SOCKS5_METHOD.NO_AUTH };
        }
        throw new Refusal('no acceptable authentication method', Uint8Array.of(0x05, SOCKS5_METHOD.NO_ACCEPTABLE));
      }
      case 'auth': {
        if (field[0] !== 0x01) throw new Refusal(`unknown username/password version 0x${hex(field[0])}`, AUTH_FAILED);
        if (field[1] === 0) return this.expect('password-length', 1);
        return this.expect('username', field[1]);
      }
      case 'username': {
        this.username = field.slice();
        return this.expect('password-length', 1);
      }
      case 'password-length': {
        if (field[0] === 0) return this.credentials(new Uint8Array(0));
        return this.expect('password', field[0]);
      }
      case 'password':
        return this.credentials(field.slice());
      case 'request': {
        const [version, command, , atyp] = field;
        if (version !== 0x05) throw new Refusal(`bad request version 0x${hex(version)}`, socks5Reply(SOCKS5_REPLY.GENERAL_FAILURE));
        if (command !== CMD_CONNECT) {
          throw new Refusal(`command 0x${hex(command)} is not supported (CONNECT only)`, socks5Reply(SOCKS5_REPLY.COMMAND_NOT_SUPPORTED));
        }
        this.atyp = atyp;
        if (atyp === ATYP.IPV4) return this.expect('target', 4 + 2);
        if (atyp === ATYP.IPV6) return this.expect('target', 16 + 2);
        if (atyp === ATYP.DOMAIN) return this.expect('domain-length', 1);
        throw new Refusal(`address type 0x${hex(atyp)} is not supported`, socks5Reply(SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED));
      }
      case 'domain-length': {
        if (field[0] === 0) throw new Refusal('empty domain name', socks5Reply(SOCKS5_REPLY.HOST_UNREACHABLE));
        return this.expect('target', field[0] + 2);
      }
      case 'target': {
        const address = field.subarray(0, field.length - 2);
        const port = (field[field.length - 2] << 8) | field[field.length - 1];
        this.state = 'done';
        return { type: 'connect', host: this.host(address), port, rest: new Uint8Array(0) };
      }
      default:
        throw new Error(`SOCKS5 parser is ${this.state}`);
    }
  }

  private expect(state: State, bytes: number): undefined {
    this.state = state;
    this.need = bytes;
    return undefined;
  }

  private credentials(password: Uint8Array): Socks5Event {
    this.expect('request', 4);
    return { type: 'credentials', username: this.username, password };
  }

  private host(address: Uint8Array): string {
    if (this.atyp === ATYP.IPV4) return address.join('.');
    if (this.atyp === ATYP.IPV6) return formatIpv6(address);
    // The name goes to the exit as is (it resolves it), but only as printable ASCII: control
    // bytes, spaces or raw UTF-8 are no host name and could confuse logs or the exit's resolver.
    if (!address.every((b) => b > 0x20 && b < 0x7f)) {
      throw new Refusal('domain name has bytes outside printable ASCII', socks5Reply(SOCKS5_REPLY.HOST_UNREACHABLE));
    }
    return String.fromCharCode(...address);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
