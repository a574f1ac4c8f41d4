import { hostname, userInfo } from 'node:os';

/** Who is acting, as recorded with an accepted change or a reset: user@host. */
export function who(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    // no passwd entry (a container's arbitrary uid)
    return `uid ${process.getuid?.() ?? '?'}@${hostname()}`;
  }
}
