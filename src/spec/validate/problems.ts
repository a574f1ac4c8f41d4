// The problem collector: every check adds to one list, located in the YAML text, so that
// `pipeline validate` reports the whole file at once, in file order, each problem once.

import type { PipelineFile } from '../read-file.js';
import { locate } from '../yaml-locate.js';

/** A path into the YAML value, e.g. ['stages', 2, 'temperature']. */
export type Path = (string | number)[];

export interface PipelineProblem {
  /** Path into the YAML value, e.g. ['stages', 2, 'temperature']. */
  path: Path;
  line: number;
  col: number;
  /** What is wrong, without the location. */
  message: string;
}

export class Problems {
  private readonly list: PipelineProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly file: PipelineFile) {}

  /** `at: 'key'` points at the key itself (an unknown or misplaced key) instead of its value. */
  add(path: Path, message: string, at: 'value' | 'key' = 'value'): void {
    const { line, col } = locate(this.file, path, { at });
    // Two checks can reach the same mistake (a union member and its parent); say it once.
    const id = `${line}:${col}:${message}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push({ path, line, col, message });
  }

  /** In file order; the sort is stable, so problems at one spot keep the order they were found. */
  sorted(): PipelineProblem[] {
    return [...this.list].sort((a, b) => a.line - b.line || a.col - b.col);
  }
}
