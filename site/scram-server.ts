// The server half of RFC 7804 SCRAM-SHA-256, free of HTTP plumbing: it reads an Authorization
// header and a source key and says what to answer. Every failure to log in — unknown user, wrong
// password, replayed or foreign nonce — runs the same steps and gets the same answer.
import { constantTimeEqual, toBase64Url, utf8 } from '../shared/bytes.ts';
import { serverSignature, verifyClientProof, type ScramCrypto, type ScramVerifier } from '../shared/scram-crypto.ts';
import { SCRAM_SCHEME, parseCredentials } from '../shared/scram-http.ts';
import {
  ScramSyntaxError,
  authMessage,
  decodeData,
  encodeData,
  formatServerFinal,
  formatServerFirst,
  parseClientFinal,
  parseClientFirst,
  type ClientFirst,
} from '../shared/scram-messages.ts';
import { ExpiringMap } from '../node/expiring-map.ts';
import { TokenBuckets, type BucketPolicy } from '../node/token-buckets.ts';
import { MAX_NAME_LENGTH, SALT_BYTES, type UserStore } from './users.ts';

export interface RateLimits {
  /** Exchanges a source may start: bounds how fast one source fills the nonce table. */
  startsPerSource: BucketPolicy;
  /** Failed logins from one source, whatever the user names. */
  failuresPerSource: BucketPolicy;
  /** Failed logins for one user name, whatever the sources: larger than a source's, so one source cannot lock a user out. */
  failuresPerUser: BucketPolicy;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  startsPerSource: { capacity: 30, refillPerSecond: 1 },
  failuresPerSource: { capacity: 10, refillPerSecond: 1 / 30 },
  failuresPerUser: { capacity: 20, refillPerSecond: 1 / 60 },
};

/** A server nonce is single-use and dies after this long: a login takes well under a second. */
export const DEFAULT_NONCE_TTL_MS = 60_000;
/** Bounds for every table keyed by something a client chooses. */
export const MAX_PENDING_EXCHANGES = 10_000;
export const MAX_RATE_LIMIT_KEYS = 10_000;

export type AuthOutcome =
  /** No SCRAM credentials: offer the scheme (401). */
  | { kind: 'challenge' }
  /** client-first accepted: answer server-first (401 with sid and data). */
  | { kind: 'server-first'; sid: string; data: string }
  | { kind: 'success'; user: string; sid: string; data: string }
  /** A completed exchange that did not prove the password, or an unknown/expired/used sid (401). */
  | { kind: 'failure'; user?: string; reason: string }
  | { kind: 'malformed'; reason: string }
  | { kind: 'limited'; retryAfterSeconds: number };

export interface AuthenticatorOptions {
  users: Pick<UserStore, 'find' | 'fakeCredentialKey'>;
  crypto: ScramCrypto;
  /** Iteration count announced for unknown names: the count real accounts were created with. */
  iterations: number;
  nonceTtlMs?: number;
  limits?: RateLimits;
}

interface Exchange {
  first: ClientFirst;
  serverFirst: string;
  nonce: string;
  verifier: ScramVerifier;
}

export class ScramAuthenticator {
  private readonly options: AuthenticatorOptions;
  private readonly ttl: number;
  private readonly pending = new ExpiringMap<string, Exchange>(MAX_PENDING_EXCHANGES);
  private readonly starts: TokenBuckets;
  private readonly sourceFailures: TokenBuckets;
  private readonly userFailures: TokenBuckets;

  constructor(options: AuthenticatorOptions) {
    this.options = options;
    this.ttl = options.nonceTtlMs ?? DEFAULT_NONCE_TTL_MS;
    const limits = options.limits ?? DEFAULT_RATE_LIMITS;
    this.starts = new TokenBuckets(limits.startsPerSource, MAX_RATE_LIMIT_KEYS);
    this.sourceFailures = new TokenBuckets(limits.failuresPerSource, MAX_RATE_LIMIT_KEYS);
    this.userFailures = new TokenBuckets(limits.failuresPerUser, MAX_RATE_LIMIT_KEYS);
  }

  /** `source` is the rate-limit key of the peer (site/peer.ts). */
  async authenticate(authorization: string | undefined, source: string, now = Date.now()): Promise<AuthOutcome> {
    if (authorization === undefined) return { kind: 'challenge' };
    try {
      const credentials = parseCredentials(authorization);
      if (credentials.scheme.toUpperCase() !== SCRAM_SCHEME) return { kind: 'challenge' };
      const data = credentials.params.get('data');
      if (data === undefined) throw new ScramSyntaxError('missing data');
      const sid = credentials.params.get('sid');
      const message = decodeData(data);
      return sid === undefined ? await this.start(message, source, now) : await this.finish(sid, message, source, now);
    } catch (err) {
      if (err instanceof ScramSyntaxError) return { kind: 'malformed', reason: err.message };
      throw err;
    }
  }

  private limited(user: string, source: string, now: number): AuthOutcome | undefined {
    if (this.sourceFailures.allows(source, now) && this.userFailures.allows(user, now)) return undefined;
    const retry = Math.max(this.sourceFailures.retryAfterSeconds(source, now), this.userFailures.retryAfterSeconds(user, now));
    return { kind: 'limited', retryAfterSeconds: retry };
  }

  private async start(message: string, source: string, now: number): Promise<AuthOutcome> {
    if (!this.starts.take(source, now)) return { kind: 'limited', retryAfterSeconds: this.starts.retryAfterSeconds(source, now) };
    const first = parseClientFirst(message);
    if (first.user.length > MAX_NAME_LENGTH) throw new ScramSyntaxError('user name too long');
    const refused = this.limited(first.user, source, now);
    if (refused) return refused;
    const verifier = await this.verifierFor(first.user);
    const { crypto } = this.options;
    const nonce = first.nonce + toBase64Url(crypto.randomBytes(18));
    const serverFirst = formatServerFirst({ nonce, salt: verifier.salt, iterations: verifier.iterations });
    const sid = toBase64Url(crypto.randomBytes(16));
    this.pending.set(sid, { first, serverFirst, nonce, verifier }, now + this.ttl);
    return { kind: 'server-first', sid, data: encodeData(serverFirst) };
  }

  private async finish(sid: string, message: string, source: string, now: number): Promise<AuthOutcome> {
    // Consumed before anything else: whatever follows, this nonce never verifies again.
    const exchange = this.pending.take(sid, now);
    if (exchange === undefined) return { kind: 'failure', reason: 'unknown, expired or already used sid' };
    const user = exchange.first.user;
    const final = parseClientFinal(message);
    const refused = this.limited(user, source, now);
    if (refused) return refused;
    const signed = authMessage(exchange.first.bare, exchange.serverFirst, final.withoutProof);
    const { crypto } = this.options;
    // All three checks always run, so a foreign nonce costs the same as a wrong password.
    const nonceMatches = constantTimeEqual(utf8(final.nonce), utf8(exchange.nonce));
    const bindingMatches = final.channelBinding === exchange.first.gs2Header;
    const proofMatches = await verifyClientProof(crypto, exchange.verifier.storedKey, signed, final.proof);
    if (!(nonceMatches && bindingMatches && proofMatches)) {
      this.sourceFailures.take(source, now);
      this.userFailures.take(user, now);
      return { kind: 'failure', user, reason: nonceMatches && bindingMatches ? 'invalid proof' : 'nonce or channel binding mismatch' };
    }
    const signature = await serverSignature(crypto, exchange.verifier.serverKey, signed);
    return { kind: 'success', user, sid, data: encodeData(formatServerFinal({ verifier: signature })) };
  }

  /**
   * The stored verifier, or for an unknown name a fake one derived from the name under a server
   * key: stable, so asking twice shows the same salt, like a real account. Both are computed for
   * every name, so known and unknown names cost the same work.
   */
  private async verifierFor(user: string): Promise<ScramVerifier> {
    const { crypto, users, iterations } = this.options;
    const derive = (label: string) => crypto.hmacSha256(users.fakeCredentialKey, utf8(`${label}\0${user}`));
    const fake: ScramVerifier = {
      salt: (await derive('salt')).slice(0, SALT_BYTES),
      iterations,
      storedKey: await derive('stored-key'),
      serverKey: await derive('server-key'),
    };
    return users.find(user) ?? fake;
  }
}
