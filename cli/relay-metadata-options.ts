// What an operator publishes about a relay (docs/RELAY-METADATA.md) and how often it changes its
// onion key: --contact, --family, --exit-policy, --onion-key-rotation, --onion-key-grace.
import { isValidContact, MAX_CONTACT_CODE_POINTS, MAX_FAMILY } from '../shared/descriptor.ts';
import { normalizePortPolicy } from '../shared/port-policy.ts';
import { DEFAULT_ONION_KEY_GRACE_MS, DEFAULT_ONION_KEY_ROTATION_MS } from '../relay/onion-keys.ts';
import { CliError } from './command.ts';
import { durationOption } from './option-values.ts';

export const RELAY_METADATA_OPTIONS = {
  contact: { type: 'string' },
  family: { type: 'string', multiple: true },
  'exit-policy': { type: 'string' },
  'onion-key-rotation': { type: 'string' },
  'onion-key-grace': { type: 'string' },
} as const;

export const RELAY_METADATA_HELP = `  --contact TEXT            how to reach the operator (e-mail, URL…), published in the
                            descriptor; at most 256 printable characters
  --family ID               id of another relay this operator runs (repeatable, at most
                            ${MAX_FAMILY}); list every relay of the family on every one of them
  --exit-policy POLICY      ports the exit serves: "accept 80,443,8000-9000", "reject 25" or
                            "reject *" for no exit (default "accept *")
  --onion-key-rotation T    a new onion key this often: seconds, or a number with s, m, h, d
                            or w (default 28d)
  --onion-key-grace T       how long the previous onion key is still honoured after a
                            rotation, at most the rotation period (default 7d)`;

const RELAY_ID = /^[0-9a-f]{40}$/;
export function relayMetadataSettings(values: Record<string, unknown>) {
  const contact = values.contact as string | undefined;
  if (contact !== undefined && !isValidContact(contact)) {
    throw new CliError(`--contact must be 1-${MAX_CONTACT_CODE_POINTS} printable characters, got "${String(contact).slice(0, 60)}"`, 2);
  }
  const family = ((values.family as string[] | undefined) ?? []).map((id) => {
    const lower = id.trim().toLowerCase();
    if (!RELAY_ID.test(lower)) throw new CliError(`--family must be a relay id (40 hex characters, as \`allium relay --json\` prints), got "${id}"`, 2);
    return lower;
  });
  if (family.length > MAX_FAMILY) throw new CliError(`--family may be given at most ${MAX_FAMILY} times, got ${family.length}`, 2);
  let exitPolicy: string | undefined;
  if (values['exit-policy'] !== undefined) {
    try {
      exitPolicy = normalizePortPolicy(String(values['exit-policy']));
    } catch (err) {
      throw new CliError(`--exit-policy ${(err as Error).message}, got "${String(values['exit-policy']).slice(0, 60)}"`, 2);
    }
  }
  const onionKeyRotationMs = durationOption(values['onion-key-rotation'], 'onion-key-rotation', DEFAULT_ONION_KEY_ROTATION_MS);
  const onionKeyGraceMs = durationOption(values['onion-key-grace'], 'onion-key-grace', Math.min(DEFAULT_ONION_KEY_GRACE_MS, onionKeyRotationMs));
  if (onionKeyGraceMs > onionKeyRotationMs) throw new CliError(`--onion-key-grace must not exceed --onion-key-rotation, got "${values['onion-key-grace']}"`, 2);
  return { contact, family: family.length > 0 ? family : undefined, exitPolicy, onionKeyRotationMs, onionKeyGraceMs };
}
