/**
 * An error the user can act on: printed as one clear message (no stack trace) and mapped to an
 * exit code. Anything else that escapes to the CLI is a bug and is printed with its stack.
 */
export class KdError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'KdError';
  }
}
