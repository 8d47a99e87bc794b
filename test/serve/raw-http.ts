import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * An HTTP/1.1 client on a bare socket, for what fetch cannot do: send a request byte by byte,
 * send a target fetch would normalise, hold a connection open, see a connection refused.
 */
export class RawClient {
  private buffer = '';
  private readonly socket: Socket;
  private wake: (() => void) | undefined;
  /** Resolves when the server closed the connection (or it failed), with everything received. */
  readonly closed: Promise<string>;
  readonly connected: Promise<void>;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake?.();
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('error', () => undefined);
      this.socket.once('close', () => {
        this.wake?.();
        resolve(this.buffer);
      });
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Writes one byte of `text` every `intervalMs` until all is sent or the connection closes. */
  async trickle(text: string, intervalMs: number): Promise<void> {
    for (const char of text) {
      if (this.socket.destroyed || !this.socket.writable) return;
      this.socket.write(char);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** A keep-alive POST /predict of one text. */
  predict(text: string): void {
    const body = JSON.stringify({ text });
    this.write(`POST /predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /** The next complete response (one with a content-length), or an error once the connection closes without one. */
  async response(): Promise<RawResponse> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headers = this.buffer.slice(0, end);
        const length = Number(/^content-length: *(\d+)/im.exec(headers)?.[1] ?? 0);
        if (Buffer.byteLength(this.buffer.slice(end + 4)) >= length) {
          const body = this.buffer.slice(end + 4, end + 4 + length);
          this.buffer = this.buffer.slice(end + 4 + length);
          return { status: Number(headers.split(' ')[1]), headers, body };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed without a complete response; received ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
