// What the proxy front ends need from the client core: a way to open a TCP stream through a
// circuit. AlliumClient has exactly this shape; tests pass a direct opener (test-harness.ts).
import type { ByteStream } from '../shared/client/byte-stream.ts';
import type { AlliumClient } from '../shared/client/client.ts';

export type { ByteStream };

export type StreamOpener = Pick<AlliumClient, 'connect'>;
