// Where an option's value may come from besides the command line: a config file (`--config FILE`)
// and the environment (`ALLIUM_<COMMAND>_<OPTION>`). Flags win over the environment, which wins
// over the file, which wins over the defaults (docs/CONFIG.md). Each value remembers its origin so
// a validation error can say where the bad value was written.
import type { ParseArgsOptionsConfig } from 'node:util';

export type OptionValue = string | boolean | string[];

/** Values by option name, each with a human description of where it was set. */
export interface SourcedValues {
  values: Record<string, OptionValue>;
  origins: Record<string, string>;
}

/** Options that make no sense outside the command line. */
const COMMAND_LINE_ONLY = new Set(['help', 'config']);
/** A config file larger than this is a mistake (a key file or a log given by error). */
export const MAX_CONFIG_BYTES = 256 * 1024;
const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

export class ConfigError extends Error {}

function parseBoolean(text: string, where: string, name: string): boolean {
  const word = text.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ConfigError(`${where}: ${name} takes true or false, got "${text}"`);
}

/** The environment variable that sets `option` of `command`: ALLIUM_RELAY_PUBLIC_URL for relay's --public-url. */
export function environmentName(command: string, option: string): string {
  return `ALLIUM_${command}_${option}`.toUpperCase().replaceAll('-', '_');
}

/**
 * Parses a config file: one `option value` per line (the value is the rest of the line, trimmed;
 * a boolean option may stand alone), `#` starts a comment line, blank lines are ignored, and a
 * repeatable option is given on several lines. Unknown options and repeated single options are
 * errors naming the line, so a typo never silently falls back to a default.
 */
export function parseConfigFile(text: string, file: string, options: ParseArgsOptionsConfig): SourcedValues {
  const values: Record<string, OptionValue> = {};
  const origins: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file} line ${i + 1}`;
    const match = /^([A-Za-z0-9-]+)(?:\s+(.*))?$/.exec(line);
    if (!match) throw new ConfigError(`${where}: expected "option value", got "${line.slice(0, 80)}"`);
    const [, rawName, rawValue] = match;
    const name = rawName.startsWith('--') ? rawName.slice(2) : rawName;
    const option = Object.hasOwn(options, name) && !COMMAND_LINE_ONLY.has(name) ? options[name] : undefined;
    if (!option) throw new ConfigError(`${where}: unknown option "${name.slice(0, 60)}"`);
    const value = rawValue?.trim() ?? '';
    let parsed: string | boolean;
    if (option.type === 'boolean') parsed = value === '' ? true : parseBoolean(value, where, name);
    else if (value === '') throw new ConfigError(`${where}: ${name} needs a value`);
    else parsed = value;
    if (option.multiple) {
      ((values[name] ??= []) as string[]).push(String(parsed));
      origins[name] ??= where;
    } else if (Object.hasOwn(values, name)) {
      throw new ConfigError(`${where}: ${name} is already set at ${origins[name]}`);
    } else {
      values[name] = parsed;
      origins[name] = where;
    }
  }
  return { values, origins };
}

/**
 * Reads ALLIUM_<COMMAND>_* variables. A repeatable option takes a comma-separated list. A variable
 * with the command's prefix that names no option is an error: it is a typo the user believes works.
 */
export function parseEnvironment(command: string, options: ParseArgsOptionsConfig, env: Record<string, string | undefined>): SourcedValues {
  const values: Record<string, OptionValue> = {};
  const origins: Record<string, string> = {};
  const known = new Map<string, string>();
  for (const name of Object.keys(options)) {
    if (!COMMAND_LINE_ONLY.has(name)) known.set(environmentName(command, name), name);
  }
  const prefix = environmentName(command, '');
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(prefix) || raw === undefined) continue;
    const name = known.get(variable);
    if (name === undefined) {
      if (variable === environmentName(command, 'config')) continue;
      throw new ConfigError(`environment variable ${variable} names no option of allium ${command}`);
    }
    const option = options[name];
    const value = raw.trim();
    if (option.type === 'boolean') values[name] = parseBoolean(value, variable, name);
    else if (option.multiple) values[name] = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
    else values[name] = value;
    origins[name] = `environment variable ${variable}`;
  }
  return { values, origins };
}

/** Layers sources from lowest to highest precedence: a later source replaces an option whole. */
export function layerSources(...sources: SourcedValues[]): SourcedValues {
  const merged: SourcedValues = { values: {}, origins: {} };
  for (const source of sources) {
    for (const [name, value] of Object.entries(source.values)) {
      merged.values[name] = value;
      merged.origins[name] = source.origins[name];
    }
  }
  return merged;
}
