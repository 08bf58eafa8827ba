// The bearer token of `allium proxy --control`: whoever holds it may read which relays carry a
// set of SOCKS credentials and replace their circuit. It lives in a file only its owner can read
// (mode 0600, in a 0700 folder), created on first use; the user pastes it once into the extension.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** 32 random bytes, base64url: 43 characters. Shorter tokens are refused as guessable. */
const TOKEN_BYTES = 32;
const MIN_LENGTH = 22;

export interface ControlToken {
  token: string;
  file: string;
  /** The file was made now (so the user has to paste the token into the extension). */
  created: boolean;
  /** Other users can read the file: the token should be replaced. */
  exposed: boolean;
}

export function loadControlToken(file: string): ControlToken {
  const created = createIfMissing(file);
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < MIN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new Error(`${file} must hold one token of at least ${MIN_LENGTH} printable characters (delete it to have a new one made)`);
  }
  return { token, file, created, exposed: (statSync(file).mode & 0o077) !== 0 };
}

function createIfMissing(file: string): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if the file exists, so two proxies starting together never overwrite a token.
    writeFileSync(file, randomBytes(TOKEN_BYTES).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
