import { describe, expect, it } from 'vitest';
import { byteSizeOption, formatByteSize, parseByteSize } from './byte-size.ts';
import { CliError } from './command.ts';

describe('byte sizes', () => {
  it('reads plain bytes and decimal and binary units, in any case, with or without a space', () => {
    expect(parseByteSize('1000')).toBe(1000);
    expect(parseByteSize('1000 B')).toBe(1000);
    expect(parseByteSize('2K')).toBe(2000);
    expect(parseByteSize('2kb')).toBe(2000);
    expect(parseByteSize('2 KiB')).toBe(2048);
    expect(parseByteSize('2MB')).toBe(2_000_000);
    expect(parseByteSize('2m')).toBe(2_000_000);
    expect(parseByteSize('2MiB')).toBe(2 * 1024 * 1024);
    expect(parseByteSize('1.5G')).toBe(1_500_000_000);
    expect(parseByteSize('1GiB')).toBe(1024 ** 3);
    expect(parseByteSize('0.5 KiB')).toBe(512);
  });

  it('refuses what is not a size', () => {
    for (const text of ['', 'MB', '-1', '1e6', '2 TB', '2 mbit', '1,000', '0x10', '2 M B', '1.5.3K', 'Infinity', '99999999999 GiB']) {
      expect(parseByteSize(text), text).toBeUndefined();
    }
  });

  it('makes option errors that name the option and quote the value', () => {
    expect(byteSizeOption(undefined, 'max-memory', 42)).toBe(42);
    expect(byteSizeOption('3MiB', 'max-memory', 42)).toBe(3 * 1024 * 1024);
    expect(() => byteSizeOption('lots', 'max-memory', 42)).toThrow(new CliError('--max-memory must be a size in bytes, optionally with a unit (K, KB, KiB, M, MB, MiB, G, GB, GiB), got "lots"', 2));
    expect(() => byteSizeOption('10K', 'bandwidth-rate', 0, 64 * 1024)).toThrow('--bandwidth-rate must be at least 64 KiB, got "10K"');
  });

  it('formats sizes with the largest exact unit', () => {
    expect(formatByteSize(256 * 1024 * 1024)).toBe('256 MiB');
    expect(formatByteSize(64 * 1024)).toBe('64 KiB');
    expect(formatByteSize(2 * 1024 ** 3)).toBe('2 GiB');
    expect(formatByteSize(2_000_000)).toBe('2 MB');
    expect(formatByteSize(1000)).toBe('1 KB');
    expect(formatByteSize(1500)).toBe('1500 bytes');
  });
});
