// A prompt template renders with named slots and parses back with the same pattern, so the
// grader recovers a task from its prompt text alone and the two can never drift apart.

export interface Template {
  render(values: Record<string, string | number>): string;
  /** The slot values, or undefined when the text is not this template. */
  parse(text: string): Record<string, string> | undefined;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `pattern` like "What is {a} plus {b}?"; `slots` gives each slot's regex source. */
export function template(pattern: string, slots: Record<string, string>): Template {
  const parts = pattern.split(/\{(\w+)\}/);
  const source = parts
    .map((part, i) => (i % 2 === 0 ? escape(part) : `(?<${part}>${slots[part]})`))
    .join('');
  const re = new RegExp(`^${source}$`);
  return {
    render: (values) =>
      parts.map((part, i) => (i % 2 === 0 ? part : String(values[part]))).join(''),
    parse: (text) => {
      const m = re.exec(text.trim());
      return m?.groups ? { ...m.groups } : undefined;
    },
  };
}

/** The first template that parses the text and whose values `accept` takes. */
export function parseAny<T>(
  templates: readonly Template[],
  text: string,
  accept: (values: Record<string, string>) => T | undefined,
): T | undefined {
  for (const t of templates) {
    const values = t.parse(text);
    const got = values && accept(values);
    if (got !== undefined) return got;
  }
  return undefined;
}
