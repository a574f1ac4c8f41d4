/** What every command gets from the CLI shell: where to write, and global flags. */
export interface CliContext {
  out: (s: string) => void;
  err: (s: string) => void;
  /** --debug: show stack traces and internal details. */
  debug: boolean;
}
