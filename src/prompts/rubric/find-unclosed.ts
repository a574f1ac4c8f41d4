// Handlebars' parser, at the end of a template, can only say "got EOF"; the mistake is where the
// unclosed comment, tag or block was opened. This finds that place in the template text.

export interface Unclosed {
  /** 1-based line in the template. */
  line: number;
  /** 0-based column, as Handlebars counts. */
  col: number;
  what: string;
}

/**
 * The first "{{!--" comment never closed, else the last "{{" never closed, else the innermost
 * {{#block}} never closed; undefined when everything is closed.
 */
export function findUnclosed(body: string): Unclosed | undefined {
  const position = (offset: number) => {
    const before = body.slice(0, offset).split('\n');
    return { line: before.length, col: before[before.length - 1].length };
  };
  const comments = /\{\{!--[\s\S]*?--\}\}|\{\{!--/g;
  for (const m of body.matchAll(comments)) {
    if (m[0] === '{{!--')
      return { ...position(m.index), what: '"{{!--" comment is never closed with "--}}"' };
  }
  // Blank out comments (which may contain braces) without moving any character.
  const text = body.replace(/\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}/g, (c) =>
    c.replace(/[^\n]/g, ' '),
  );
  const lastOpen = text.lastIndexOf('{{');
  if (lastOpen !== -1 && text.indexOf('}}', lastOpen) === -1) {
    const tag = text.slice(lastOpen).split('\n')[0].trim();
    return { ...position(lastOpen), what: `"${tag}" is never closed with "}}"` };
  }
  const stack: { name: string; offset: number }[] = [];
  for (const m of text.matchAll(/\{\{~?\s*([#^/])\s*([^\s}~]+)/g)) {
    if (m[1] === '/') {
      if (stack.at(-1)?.name === m[2]) stack.pop();
    } else stack.push({ name: m[2], offset: m.index });
  }
  const top = stack.at(-1);
  if (!top) return undefined;
  return {
    ...position(top.offset),
    what: `{{#${top.name}}} is never closed with {{/${top.name}}}`,
  };
}
