import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer with a 4xx/5xx status and a machine-readable code, sent as `{"error": {code, message}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/** Checks the content type is JSON (any charset parameter is accepted; UTF-8 is assumed). */
export function requireJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, got ${type === '' ? 'none' : `"${type}"`}`);
  }
}

/** Whether Node cut the request off for taking longer than --request-timeout (it answers 408 itself). */
export function requestTimedOut(req: IncomingMessage): boolean {
  return (req.socket.errored as NodeJS.ErrnoException | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT';
}

/**
 * Reads a request body of at most `maxBytes`: a too-large Content-Length is refused before
 * reading, and a chunked body is cut off as soon as it passes the limit.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'body_too_large', `request body is over the limit of ${maxBytes} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // Node has already answered 408 and closed the socket; this names it in the metrics.
    if (requestTimedOut(req)) {
      throw new HttpError(408, 'request_timeout', 'the request body was not received in time');
    }
    throw new HttpError(400, 'request_aborted', `the request body could not be read: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks, size);
}

export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new HttpError(400, 'invalid_json', 'body is empty; expected JSON such as {"text": "…"}');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `body is not valid JSON: ${(error as Error).message}`);
  }
}
