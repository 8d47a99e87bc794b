import { z } from 'zod';
import { KdError } from '../../errors.js';

/** Where the queue lives: a Redis (≥ 6.2) or Valkey server and database. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** `host:port/db`, for messages (never the password). */
  display: string;
}

const urlSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a URL (expected redis://HOST:PORT/DB)' });
      return z.NEVER;
    }
  })
  .refine((url) => url.protocol === 'redis:', { message: 'only redis:// URLs are supported (redis://HOST:PORT/DB)' })
  .refine((url) => url.hostname !== '', { message: 'names no host (redis://HOST:PORT/DB)' })
  .refine((url) => /^\/?\d*$/.test(url.pathname), { message: 'the path must be a database number (redis://HOST:PORT/DB)' });

/** Parses `redis://[user:password@]host[:port][/db]` (port 6379 and db 0 by default). */
export function parseRedisUrl(text: string, source: string): RedisTarget {
  const parsed = urlSchema.safeParse(text);
  if (!parsed.success) throw new KdError(`${source}: ${JSON.stringify(text)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const url = parsed.data;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host,
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    display: `${url.hostname}:${port}/${db}`,
  };
}
