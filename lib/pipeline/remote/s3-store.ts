import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { mapLimit } from './concurrency.js';
import { ObjectMissingError, RemoteError, TransientError, type ObjectStore } from './store.js';

/** One PUT carries at most 5 GiB; bigger objects go up in parts (each verified by its Content-MD5). */
const MULTIPART_ABOVE = 4 * 1024 ** 3;
const PART_BYTES = 64 * 1024 ** 2;

export interface S3Options {
  pathStyle: boolean;
  jobs: number;
  /** Objects larger than this go up as multipart uploads of `partBytes` parts (S3's minimum part is 5 MiB). */
  multipartAbove?: number;
  partBytes?: number;
}
/** Up to this many keys are checked with one HEAD each; more, by listing their shards. */
const HEAD_AT_MOST = 64;

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'InvalidClientTokenId', 'Forbidden']);
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'Throttling', 'ThrottlingException', 'ServiceUnavailable', 'InternalError', 'BadDigest', 'InvalidDigest', 'IncompleteBody']);

export interface S3Location {
  bucket: string;
  /** Without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

/** Bucket host names cannot resolve on an IP address or localhost: such endpoints need path-style URLs. */
export function needsPathStyle(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  let host: string;
  try {
    host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/**
 * An S3-compatible bucket (AWS, MinIO, Ceph, R2, …) through the AWS SDK: credentials, region and
 * endpoint come from the SDK's standard chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, AWS_ENDPOINT_URL,
 * ~/.aws/config). The SDK's own retries are off: transfers retry whole objects (lib/pipeline/remote/retry.ts).
 */
export class S3Store implements ObjectStore {
  private constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
    private readonly endpoint: string,
    private readonly options: Required<S3Options>,
  ) {}

  static async open(location: S3Location, options: S3Options): Promise<S3Store> {
    // kd-pipeline supports Node 20 with the SDK version in package-lock.json: the SDK's notice that
    // its future versions will need Node 22 tells our users nothing they can act on.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    // A first client only reads the configured endpoint and region (env, then config files).
    const probe = new S3Client({});
    const configured = await probe.config.serviceConfiguredEndpoint?.();
    const region = await probe.config.region().catch(() => undefined);
    probe.destroy();
    const config: S3ClientConfig = {
      // Buckets on MinIO and co. answer in any region; AWS redirects to the bucket's own.
      region: region ?? 'us-east-1',
      followRegionRedirects: true,
      forcePathStyle: options.pathStyle || needsPathStyle(configured),
      maxAttempts: 1,
      // We verify every object by its md5 (Content-MD5 up, our hash down); the SDK's default CRC
      // checksums are not understood by every S3-compatible store.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000, httpAgent: { keepAlive: true, maxSockets: options.jobs + 4 }, httpsAgent: { keepAlive: true, maxSockets: options.jobs + 4 } },
    };
    const settings = { multipartAbove: MULTIPART_ABOVE, partBytes: PART_BYTES, ...options };
    return new S3Store(new S3Client(config), location, configured ?? `AWS S3 (${config.region as string})`, settings);
  }

  get url(): string {
    return `s3://${this.location.bucket}${this.location.prefix ? `/${this.location.prefix}` : ''}`;
  }

  private keyOf(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  /** SDK errors as ours: the store unusable (RemoteError), worth a retry (TransientError), or as they are. */
  private translate(error: unknown, key?: string): Error {
    const e = error as SdkError;
    const cause = e.cause as SdkError | undefined;
    const code = e.code ?? cause?.code;
    const status = e.$metadata?.httpStatusCode;
    const where = `${this.url} (endpoint ${this.endpoint})`;
    if (e.name === 'CredentialsProviderError') {
      return new RemoteError(`no AWS credentials for ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or configure ~/.aws/credentials (${e.message})`);
    }
    if (e.name && CREDENTIAL_ERRORS.has(e.name)) {
      return new RemoteError(`${where} refused the credentials (${e.name}: ${e.message}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE`);
    }
    if (e.name === 'NoSuchBucket') return new RemoteError(`the bucket '${this.location.bucket}' does not exist at ${this.endpoint}: create it, or check the remote's URL`);
    if ((code && TRANSIENT_CODES.has(code)) || (e.name && TRANSIENT_NAMES.has(e.name)) || (status !== undefined && (status >= 500 || status === 429))) {
      const what = code ?? e.name ?? `HTTP ${status}`;
      return new TransientError(`${where}${key ? ` (${key})` : ''}: ${what}${e.message && e.message !== what ? `: ${e.message}` : ''}`);
    }
    if (status === 403) return new RemoteError(`${where} refused access (HTTP 403${e.name ? ` ${e.name}` : ''}): check the credentials and the bucket's policy`);
    return new RemoteError(`${where}${key ? `: ${key}` : ''}: ${e.name ?? 'error'}: ${e.message ?? String(error)}`);
  }

  private async send<T>(call: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  async check(): Promise<void> {
    await this.send(() => this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.keyOf(''), MaxKeys: 1 })));
  }

  async has(keys: string[]): Promise<Set<string>> {
    if (keys.length <= HEAD_AT_MOST) {
      const present = await mapLimit(keys, this.options.jobs, async (key) => {
        try {
          await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(key) }));
          return true;
        } catch (error) {
          if ((error as SdkError).$metadata?.httpStatusCode === 404 && (error as SdkError).name !== 'NoSuchBucket') return false;
          throw this.translate(error, key);
        }
      });
      return new Set(keys.filter((_, i) => present[i]));
    }
    // Many keys: list only the shards (`cache/ab/`) they fall in, in parallel.
    const shards = [...new Set(keys.map((key) => key.slice(0, key.lastIndexOf('/') + 1)))];
    const listed = await mapLimit(shards, this.options.jobs, (shard) => this.list(shard));
    const all = new Set(listed.flatMap((map) => [...map.keys()]));
    return new Set(keys.filter((key) => all.has(key)));
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const strip = this.keyOf('').length;
    let token: string | undefined;
    do {
      const page = await this.send(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.keyOf(prefix), ContinuationToken: token })),
      );
      for (const item of page.Contents ?? []) if (item.Key) found.set(item.Key.slice(strip), item.Size ?? 0);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async get(key: string): Promise<Readable> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(key) }));
      return answer.Body as Readable;
    } catch (error) {
      if ((error as SdkError).name === 'NoSuchKey') throw new ObjectMissingError(key, this.url);
      throw this.translate(error, key);
    }
  }

  async put(key: string, body: () => Promise<Readable | Buffer>, size: number, md5?: string): Promise<void> {
    if (size > this.options.multipartAbove) return this.putInParts(key, await body());
    const content = await body();
    await this.send(
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: this.keyOf(key),
            Body: content,
            ContentLength: size,
            // The server checks what it received against the object's hash.
            ...(md5 ? { ContentMD5: Buffer.from(md5, 'hex').toString('base64') } : {}),
          }),
        ),
      key,
    );
  }

  /** A multipart upload: nothing is visible under the key until it completes; aborted on failure. */
  private async putInParts(key: string, content: Readable | Buffer): Promise<void> {
    const target = { Bucket: this.location.bucket, Key: this.keyOf(key) };
    const { UploadId } = await this.send(() => this.client.send(new CreateMultipartUploadCommand(target)), key);
    const parts: { ETag: string; PartNumber: number }[] = [];
    try {
      for await (const part of chunks(content, this.options.partBytes)) {
        const PartNumber = parts.length + 1;
        const ContentMD5 = createHash('md5').update(part).digest('base64');
        const answer = await this.send(() => this.client.send(new UploadPartCommand({ ...target, UploadId, PartNumber, Body: part, ContentMD5 })), key);
        parts.push({ ETag: answer.ETag ?? '', PartNumber });
      }
      await this.send(() => this.client.send(new CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: parts } })), key);
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ ...target, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  async remove(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((key) => ({ Key: this.keyOf(key) }));
      const answer = await this.send(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects: batch, Quiet: true } })));
      const failed = answer.Errors ?? [];
      if (failed.length > 0) throw new RemoteError(`${this.url}: could not delete ${failed.length} objects, e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }
}

/** `source` cut into buffers of `size` bytes (the last one shorter). */
async function* chunks(source: Readable | Buffer, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let i = 0; i < source.length; i += size) yield source.subarray(i, i + size);
    return;
  }
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    pending.push(chunk);
    length += chunk.length;
    while (length >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}
