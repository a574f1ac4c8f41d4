// Which split a prompt text belongs to. The split is a function of the text alone, so a probe
// prompt can never reach training however many tasks are drawn, from whatever seed.

/** 32-bit FNV-1a over the text's UTF-8 bytes (http://www.isthe.com/chongo/tech/comp/fnv/). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export type Split = 'train' | 'probe';

/** About 1 text in 8 is held out for probing. */
export function splitOf(text: string): Split {
  return fnv1a(text) % 8 === 0 ? 'probe' : 'train';
}

/** A task id that names the text: the same prompt always has the same id. */
export function taskId(family: string, prompt: string): string {
  return `${family}-${fnv1a(prompt).toString(16).padStart(8, '0')}`;
}
