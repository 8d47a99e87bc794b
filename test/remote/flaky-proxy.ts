import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server that cuts the first `cuts` connections
 * carrying a request of the given method in the middle (after `afterBytes` of the answer for GET,
 * as soon as the request starts for PUT): network loss mid-transfer, to check retries. `outage(true)`
 * makes the remote unreachable until `outage(false)`: open connections are cut, new ones refused.
 */
export async function flakyProxy(
  target: string,
  method: 'GET' | 'PUT',
  cuts: number,
  afterBytes = 4096,
): Promise<{ endpoint: string; cut: () => number; outage: (on: boolean) => void; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  let done = 0;
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let doomed = false;
    let answered = 0;
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (!doomed && done < cuts && chunk.subarray(0, method.length + 1).toString() === `${method} ` && chunk.includes('/cache/')) {
        doomed = true;
        done += 1;
        if (method === 'PUT') return cut();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      answered += chunk.length;
      if (doomed && answered > afterBytes) return cut();
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', cut);
      socket.on('close', () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    endpoint,
    cut: () => done,
    outage: (on: boolean) => {
      down = on;
      if (on) for (const socket of sockets) socket.destroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
