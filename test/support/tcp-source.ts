// A TCP destination that writes without end as fast as its reader takes the bytes, counting them:
// how much it managed to send shows whether flow control held it back.
import net from 'node:net';

export async function startEndlessSource() {
  const sockets = new Set<net.Socket>();
  const stats = { written: 0 };
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const pump = () => {
      while (!socket.destroyed) {
        stats.written += chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on('drain', pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stats,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
