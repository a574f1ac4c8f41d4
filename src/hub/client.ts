// How pull talks to the hub: through `@huggingface/hub`, with our `fetch` wrapped so that the
// status and X-Error-Code of the last failed answer (which the library's errors do not always
// carry) are at hand when the error is turned into a PipelineError (see http-errors.ts).

export type HubModule = typeof import('@huggingface/hub');

/** The arguments every `@huggingface/hub` call of a pull shares. */
export interface HubRequest {
  repo: { type: 'model'; name: string };
  hubUrl: string;
  accessToken?: string;
  fetch: typeof fetch;
}

/** What the wrapped fetch last saw go wrong: an HTTP error answer, or a network failure. */
export class FetchState {
  lastHttp?: { status: number; errorCode?: string; errorMessage?: string; url: string };
  lastNetwork?: unknown;
}

export function wrapFetch(base: typeof fetch, state: FetchState): typeof fetch {
  return async (input, init) => {
    try {
      const res = await base(input, init);
      if (!res.ok)
        state.lastHttp = {
          status: res.status,
          errorCode: res.headers.get('x-error-code') ?? undefined,
          errorMessage: res.headers.get('x-error-message') ?? undefined,
          url: res.url || String(input instanceof Request ? input.url : input),
        };
      return res;
    } catch (e) {
      state.lastNetwork = e;
      throw e;
    }
  };
}
