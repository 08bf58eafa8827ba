import { describe, expect, it } from 'vitest';
import type { ParseArgsOptionsConfig } from 'node:util';
import { ConfigError, environmentName, layerSources, parseConfigFile, parseEnvironment } from './config-sources.ts';

const OPTIONS = {
  port: { type: 'string' },
  'public-url': { type: 'string' },
  pool: { type: 'string', multiple: true },
  'allow-private': { type: 'boolean' },
} satisfies ParseArgsOptionsConfig;

describe('config file', () => {
  it('reads "option value" lines, comments, repeated and boolean options', () => {
    const text = ['# a relay', '', 'port 9001', '  public-url   wss://relay.example:443/  ', 'pool https://a.example', 'pool https://b.example', 'allow-private'].join('\n');
    const { values, origins } = parseConfigFile(text, 'relay.conf', OPTIONS);
    expect(values).toEqual({ port: '9001', 'public-url': 'wss://relay.example:443/', pool: ['https://a.example', 'https://b.example'], 'allow-private': true });
    expect(origins.port).toBe('relay.conf line 3');
    expect(origins.pool).toBe('relay.conf line 5');
  });

  it('takes explicit booleans', () => {
    expect(parseConfigFile('allow-private no', 'f', OPTIONS).values['allow-private']).toBe(false);
    expect(parseConfigFile('allow-private YES', 'f', OPTIONS).values['allow-private']).toBe(true);
  });

  it.each([
    ['prot 9001', 'f line 1: unknown option "prot"'],
    ['port 1\nport 2', 'f line 2: port is already set at f line 1'],
    ['port', 'f line 1: port needs a value'],
    ['allow-private maybe', 'f line 1: allow-private takes true or false, got "maybe"'],
    ['config other.conf', 'f line 1: unknown option "config"'],
    ['help', 'f line 1: unknown option "help"'],
    ['port=9001', 'f line 1: expected "option value", got "port=9001"'],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => parseConfigFile(text, 'f', OPTIONS)).toThrow(new ConfigError(message));
  });
});

describe('environment', () => {
  it('names variables after the command and option', () => {
    expect(environmentName('relay', 'public-url')).toBe('ALLIUM_RELAY_PUBLIC_URL');
  });

  it('reads the command\'s variables, lists split on commas, and ignores other commands\'', () => {
    const { values, origins } = parseEnvironment('relay', OPTIONS, {
      ALLIUM_RELAY_PORT: '9002',
      ALLIUM_RELAY_POOL: 'https://a.example, https://b.example',
      ALLIUM_RELAY_ALLOW_PRIVATE: '0',
      ALLIUM_POOL_PORT: '1',
      ALLIUM_LOG: 'debug',
      ALLIUM_RELAY_CONFIG: '/etc/allium/relay.conf',
    });
    expect(values).toEqual({ port: '9002', pool: ['https://a.example', 'https://b.example'], 'allow-private': false });
    expect(origins.port).toBe('environment variable ALLIUM_RELAY_PORT');
  });

  it('refuses a variable that names no option', () => {
    expect(() => parseEnvironment('relay', OPTIONS, { ALLIUM_RELAY_PROT: '1' })).toThrow('environment variable ALLIUM_RELAY_PROT names no option of allium relay');
  });
});

describe('precedence', () => {
  it('lets a later source replace an option whole, lists included', () => {
    const file = parseConfigFile('port 1\npool https://a.example\npool https://b.example\nallow-private', 'f', OPTIONS);
    const env = parseEnvironment('relay', OPTIONS, { ALLIUM_RELAY_PORT: '2', ALLIUM_RELAY_POOL: 'https://c.example' });
    const flags = { values: { port: '3' }, origins: { port: 'command line' } };
    const merged = layerSources(file, env, flags);
    expect(merged.values).toEqual({ port: '3', pool: ['https://c.example'], 'allow-private': true });
    expect(merged.origins).toEqual({ port: 'command line', pool: 'environment variable ALLIUM_RELAY_POOL', 'allow-private': 'f line 4' });
  });
});
