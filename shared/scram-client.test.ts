import { describe, expect, it } from 'vitest';
import { utf8 } from './bytes.ts';
import { DEFAULT_MAX_ITERATIONS, ScramLoginError, answerServerFirst, checkServerFinal } from './scram-client.ts';
import { deriveVerifier, serverSignature, verifyClientProof, webCryptoScram } from './scram-crypto.ts';
import { authMessage, clientFirstMessage, formatClientFirst, formatServerFirst, fromBase64, parseClientFinal } from './scram-messages.ts';

const crypto = webCryptoScram(globalThis.crypto);

// RFC 7677 §3: the SCRAM-SHA-256 example exchange, user "user", password "pencil".
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('RFC 7677 known-answer exchange', () => {
  it('client side: client-first, client-final proof and server signature byte for byte', async () => {
    const first = formatClientFirst('user', RFC.clientNonce);
    expect(clientFirstMessage(first)).toBe(RFC.clientFirst);
    const step = await answerServerFirst(crypto, first, RFC.serverFirst, 'pencil');
    expect(step.clientFinal).toBe(RFC.clientFinal);
    expect(step.serverSignature).toEqual(fromBase64('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
    expect(() => checkServerFinal(RFC.serverFinal, step.serverSignature)).not.toThrow();
  });

  it('server side: the stored verifier accepts the RFC proof and yields the RFC signature', async () => {
    const verifier = await deriveVerifier(crypto, 'pencil', fromBase64('W22ZaJ0SNY7soEsUEjb6gQ=='), 4096);
    const final = parseClientFinal(RFC.clientFinal);
    const signed = authMessage('n=user,r=rOprNGfwEbeRWgbNEkqO', RFC.serverFirst, final.withoutProof);
    expect(await verifyClientProof(crypto, verifier.storedKey, signed, final.proof)).toBe(true);
    expect(formatServerFirst({ nonce: final.nonce, salt: verifier.salt, iterations: 4096 })).toBe(RFC.serverFirst);
    expect(await serverSignature(crypto, verifier.serverKey, signed)).toEqual(fromBase64(RFC.serverFinal.slice(2)));
  });

  it('the server refuses a proof with one bit flipped, a short proof and another password', async () => {
    const verifier = await deriveVerifier(crypto, 'pencil', fromBase64('W22ZaJ0SNY7soEsUEjb6gQ=='), 4096);
    const final = parseClientFinal(RFC.clientFinal);
    const signed = authMessage('n=user,r=rOprNGfwEbeRWgbNEkqO', RFC.serverFirst, final.withoutProof);
    const flipped = final.proof.slice();
    flipped[7] ^= 1;
    expect(await verifyClientProof(crypto, verifier.storedKey, signed, flipped)).toBe(false);
    expect(await verifyClientProof(crypto, verifier.storedKey, signed, final.proof.subarray(0, 31))).toBe(false);
    const other = await deriveVerifier(crypto, 'pencils', verifier.salt, 4096);
    expect(await verifyClientProof(crypto, other.storedKey, signed, final.proof)).toBe(false);
  });

  it('a wrong or missing server signature is refused', async () => {
    const step = await answerServerFirst(crypto, formatClientFirst('user', RFC.clientNonce), RFC.serverFirst, 'pencil');
    const refused = (final: string) => {
      try {
        checkServerFinal(final, step.serverSignature);
        return undefined;
      } catch (err) {
        return (err as ScramLoginError).code;
      }
    };
    expect(refused('v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).toBe('SERVER_NOT_AUTHENTICATED');
    expect(refused('v=')).toBe('SERVER_NOT_AUTHENTICATED');
    expect(refused('e=invalid-proof')).toBe('REJECTED');
  });
});

describe('client checks on the server-first message', () => {
  const first = formatClientFirst('user', RFC.clientNonce);
  const serverFirst = (nonce: string, iterations: number) => formatServerFirst({ nonce, salt: utf8('saltsalt'), iterations });
  const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (err: ScramLoginError) => err.code);

  it('refuses fewer than 4096 iterations (RFC 7677 minimum) and more than its cap', async () => {
    expect(await code(answerServerFirst(crypto, first, serverFirst(RFC.clientNonce + 'x', 4095), 'pencil'))).toBe('PROTOCOL_ERROR');
    expect(await code(answerServerFirst(crypto, first, serverFirst(RFC.clientNonce + 'x', DEFAULT_MAX_ITERATIONS + 1), 'pencil'))).toBe('PROTOCOL_ERROR');
    expect(await code(answerServerFirst(crypto, first, serverFirst(RFC.clientNonce + 'x', 5000), 'pencil', 4999))).toBe('PROTOCOL_ERROR');
    expect(await code(answerServerFirst(crypto, first, serverFirst(RFC.clientNonce + 'x', 4096), 'pencil'))).toBe('ok');
  });

  it('refuses a server nonce that does not extend the client nonce', async () => {
    expect(await code(answerServerFirst(crypto, first, serverFirst('someoneElsesNonce123', 4096), 'pencil'))).toBe('PROTOCOL_ERROR');
    expect(await code(answerServerFirst(crypto, first, serverFirst(RFC.clientNonce, 4096), 'pencil'))).toBe('PROTOCOL_ERROR');
  });
});
