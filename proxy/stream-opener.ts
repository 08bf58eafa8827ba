// What the proxy front ends need from the client core: a way to open a TCP stream through a
// circuit. Defined here so the front ends can be built and tested on their own; the client core
// provides the real implementation with exactly this shape.

/** An isomorphic byte stream (like Cloudflare's connect() sockets). */
export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Settles once both directions are finished; rejects if the stream was reset. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export interface StreamOpener {
  /**
   * Resolves once the exit has connected to host:port; rejects with a TpdpError (code tells why).
   * Names are resolved by the exit, never locally.
   */
  connect(host: string, port: number, options: { isolationKey: string; signal?: AbortSignal }): Promise<ByteStream>;
}
