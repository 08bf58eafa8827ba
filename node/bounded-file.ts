// Files an operator names on the command line (config, certificates, keys, CA bundles) are read
// whole; one that is far larger than its kind ever is was named by mistake (a log, a disk image)
// and is refused before it is read.
import { readFileSync, statSync } from 'node:fs';

export class FileTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

/** The file's bytes; throws FileTooLargeError past `maxBytes`, and fs errors as they come. */
export function readBoundedFile(file: string, maxBytes: number): Buffer {
  if (statSync(file).size > maxBytes) throw new FileTooLargeError(maxBytes);
  return readFileSync(file);
}
