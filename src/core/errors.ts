// Errors are values: a stable code (for scripts and tests), a message saying what went wrong and
// where, and a hint saying how to fix it. The CLI prints message + hint and exits non-zero; the
// stack trace is only shown with --debug. The engine is the lowest layer, so the type lives here
// and every layer above imports it.

export interface ErrorInfo {
  /** Stable machine-readable code, e.g. `E_MODEL_CONFIG`. */
  code: string;
  /** What went wrong, and where (file, field, node). */
  message: string;
  /** How to fix it. */
  hint?: string;
  /** Process exit code the CLI should use (default 1; usage errors use 2). */
  exitCode?: number;
}

export class PipelineError extends Error implements ErrorInfo {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(info: ErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.name = 'PipelineError';
    this.code = info.code;
    this.hint = info.hint;
    this.exitCode = info.exitCode ?? 1;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode };
  }
}

export function fail(code: string, message: string, hint?: string, cause?: unknown): never {
  throw new PipelineError({ code, message, hint }, cause === undefined ? undefined : { cause });
}

export function isPipelineError(e: unknown): e is PipelineError {
  return e instanceof PipelineError;
}
