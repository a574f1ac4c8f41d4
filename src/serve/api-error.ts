// OpenAI-style errors: an HTTP status and the body {error: {message, type, param, code}} that
// OpenAI's clients read (the openai npm client raises BadRequestError, NotFoundError, ... by status).

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After on 429, Allow on 405). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** 400: a field is missing, of the wrong type or out of range. */
export function badParam(param: string | null, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function modelNotFound(model: string, served: string[]): ApiError {
  return new ApiError(
    404,
    `The model '${model}' does not exist. Served models: ${served.map((m) => `'${m}'`).join(', ')}.`,
    'not_found_error',
    'model',
    'model_not_found',
  );
}
