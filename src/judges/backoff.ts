// How long to wait before retrying a judge request.
//
// Exponential backoff with "equal jitter" (Brooker, "Exponential Backoff And Jitter", AWS
// Architecture Blog, 2015):
//   d_n = b · 2^(n-1),   delay_n = d_n / 2 + U(0, d_n / 2)
// Half of the delay is kept so a retry never comes back at once; the random half spreads the
// retries of the many requests that failed together (one overloaded or stalled server), so they
// do not return as one burst and fail together again.

/** Delay before retry number `attempt` (1 = the first retry), in ms. */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const d = baseMs * 2 ** (attempt - 1);
  return d / 2 + random() * (d / 2);
}
