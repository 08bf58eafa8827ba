// SCRAM-SHA-256 HTTP client (RFC 7804 §5): learns the realm, sends client-first, answers the
// server-first challenge with a proof, and accepts the secret only once the server has proven it
// holds the verifier. The fetch is injected, so the same code logs in directly, through a circuit
// or from the extension.
import { constantTimeEqual, toBase64Url } from './bytes.ts';
import { MIN_ITERATIONS, clientProof, type ScramCrypto } from './scram-crypto.ts';
import {
  authMessage,
  clientFinalMessage,
  clientFirstMessage,
  decodeData,
  encodeData,
  formatClientFinalWithoutProof,
  formatClientFirst,
  parseServerFinal,
  parseServerFirst,
  saslPrep,
  ScramSyntaxError,
  type ClientFirst,
} from './scram-messages.ts';
import { SCRAM_SCHEME, formatChallenge, parseAuthParams, parseChallenges, type AuthChallenge } from './scram-http.ts';

/**
 * Above this a server is asking for an unreasonable amount of client work (ten million
 * PBKDF2-HMAC-SHA256 rounds take several seconds): refuse rather than let a hostile site stall us.
 */
export const DEFAULT_MAX_ITERATIONS = 10_000_000;

export type ScramLoginErrorCode = 'REJECTED' | 'RATE_LIMITED' | 'SERVER_NOT_AUTHENTICATED' | 'PROTOCOL_ERROR';

export class ScramLoginError extends Error {
  readonly code: ScramLoginErrorCode;
  constructor(code: ScramLoginErrorCode, message: string) {
    super(message);
    this.name = 'ScramLoginError';
    this.code = code;
  }
}

export interface ClientFinalStep {
  clientFinal: string;
  /** The signature the server-final message must carry. */
  serverSignature: Uint8Array;
}

/** Answers a server-first message: checks the nonce and iteration bounds, then computes the proof. */
export async function answerServerFirst(
  crypto: ScramCrypto,
  first: ClientFirst,
  serverFirst: string,
  password: string,
  maxIterations = DEFAULT_MAX_ITERATIONS,
): Promise<ClientFinalStep> {
  const challenge = parseServerFirst(serverFirst);
  // The server must extend our nonce, or the exchange could be a replay of another session.
  if (!challenge.nonce.startsWith(first.nonce) || challenge.nonce.length === first.nonce.length) {
    throw new ScramLoginError('PROTOCOL_ERROR', 'the server nonce does not extend the client nonce');
  }
  if (challenge.iterations < MIN_ITERATIONS) {
    throw new ScramLoginError('PROTOCOL_ERROR', `the server asks for ${challenge.iterations} iterations, below the RFC 7677 minimum of ${MIN_ITERATIONS}`);
  }
  if (challenge.iterations > maxIterations) {
    throw new ScramLoginError('PROTOCOL_ERROR', `the server asks for ${challenge.iterations} iterations, above this client's limit of ${maxIterations}`);
  }
  const withoutProof = formatClientFinalWithoutProof(first.gs2Header, challenge.nonce);
  const signed = authMessage(first.bare, serverFirst, withoutProof);
  const { proof, serverSignature } = await clientProof(crypto, password, challenge.salt, challenge.iterations, signed);
  return { clientFinal: clientFinalMessage(withoutProof, proof), serverSignature };
}

/** Checks the server-final message: the server proves it knows ServerKey for this very exchange. */
export function checkServerFinal(serverFinal: string, expected: Uint8Array): void {
  const final = parseServerFinal(serverFinal);
  if ('error' in final) throw new ScramLoginError('REJECTED', `the server refused the login: ${final.error}`);
  if (!constantTimeEqual(final.verifier, expected)) {
    throw new ScramLoginError('SERVER_NOT_AUTHENTICATED', 'the server signature is wrong: this server does not hold the account verifier');
  }
}

export interface ScramLoginOptions {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  /** The site's base URL; the protected resource is `path` under it. */
  siteUrl: string;
  user: string;
  password: string;
  crypto: ScramCrypto;
  path?: string;
  maxIterations?: number;
}

export interface ScramLoginResult {
  secret: string;
  /** The user name as the server saw it (after SASLprep). */
  user: string;
  sid: string;
  /** The Set-Cookie of the success response, when the runtime exposes it (Node; never a browser). */
  setCookie: string | null;
}

function scramChallenge(response: Response): AuthChallenge | undefined {
  const header = response.headers.get('www-authenticate');
  if (header === null) return undefined;
  try {
    return parseChallenges(header).find((c) => c.scheme.toUpperCase() === SCRAM_SCHEME);
  } catch {
    return undefined;
  }
}

async function failure(response: Response, step: string): Promise<ScramLoginError> {
  await response.body?.cancel();
  if (response.status === 429) {
    const retry = response.headers.get('retry-after');
    return new ScramLoginError('RATE_LIMITED', `too many attempts, the site asks to retry in ${retry ?? 'a while'} s`);
  }
  return new ScramLoginError('PROTOCOL_ERROR', `unexpected HTTP ${response.status} at ${step}`);
}

/** Runs the whole RFC 7804 exchange and returns the protected resource once the server is verified. */
export async function scramLogin(options: ScramLoginOptions): Promise<ScramLoginResult> {
  // Local input errors surface before any request, as they are; anything malformed after this
  // point came from the site.
  const first = formatClientFirst(options.user, toBase64Url(options.crypto.randomBytes(18)));
  saslPrep(options.password);
  try {
    return await exchange(options, first);
  } catch (err) {
    if (err instanceof ScramSyntaxError) throw new ScramLoginError('PROTOCOL_ERROR', `malformed SCRAM message from the site: ${err.message}`);
    throw err;
  }
}

async function exchange(options: ScramLoginOptions, first: ClientFirst): Promise<ScramLoginResult> {
  const url = new URL(options.path ?? '/secret', options.siteUrl).href;
  // Cookies are left out until the last request: an existing session would skip the exchange,
  // and with it the server's proof.
  const request = (authorization: string | undefined, credentials: RequestInit['credentials']) =>
    options.fetch(url, { headers: authorization ? { authorization } : {}, credentials, cache: 'no-store', redirect: 'error' });

  const initial = await request(undefined, 'omit');
  const offer = scramChallenge(initial);
  if (initial.status !== 401 || offer === undefined) throw await failure(initial, 'the first request (no SCRAM-SHA-256 challenge)');
  await initial.body?.cancel();

  const realm = offer.params.get('realm');
  const firstParams: Record<string, string> = realm === undefined ? {} : { realm };
  firstParams.data = encodeData(clientFirstMessage(first));
  const challenged = await request(formatChallenge(SCRAM_SCHEME, firstParams), 'omit');
  const challenge = scramChallenge(challenged);
  const sid = challenge?.params.get('sid');
  const serverData = challenge?.params.get('data');
  if (challenged.status !== 401 || sid === undefined || serverData === undefined) throw await failure(challenged, 'client-first');
  await challenged.body?.cancel();

  const step = await answerServerFirst(options.crypto, first, decodeData(serverData), options.password, options.maxIterations);
  const final = await request(formatChallenge(SCRAM_SCHEME, { sid, data: encodeData(step.clientFinal) }), 'same-origin');
  if (final.status === 401) {
    await final.body?.cancel();
    throw new ScramLoginError('REJECTED', 'the site refused the user name or password');
  }
  if (final.status !== 200) throw await failure(final, 'client-final');
  try {
    const info = final.headers.get('authentication-info');
    const params = info === null ? undefined : parseAuthParams(info);
    const data = params?.get('data');
    if (data === undefined || params?.get('sid') !== sid) {
      throw new ScramLoginError('SERVER_NOT_AUTHENTICATED', 'the site sent no server signature for this exchange');
    }
    checkServerFinal(decodeData(data), step.serverSignature);
  } catch (err) {
    await final.body?.cancel();
    throw err;
  }
  return { secret: await final.text(), user: first.user, sid, setCookie: final.headers.get('set-cookie') };
}
