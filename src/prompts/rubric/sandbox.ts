// The Handlebars instance rubrics compile and render in. Templates are compiled strictly: a
// missing variable is an error, not an empty string, because a judge prompt with a silently blank
// response would still produce (garbage) scores. Output is not HTML-escaped (these are prompts,
// not web pages). Only the block helpers if / unless / each / with / numbered exist, there are no
// partials, and the data handed to a template has no prototype to read, so a rubric cannot reach
// outside the variables it is given. (template-scan.ts rejects the rest when the rubric loads.)

import Handlebars from 'handlebars';
import { fail } from '../../core/errors.js';

type HelperOptions = Handlebars.HelperOptions & { data?: Record<string, unknown> };

export const hb = Handlebars.create();
// `lookup` reads a property named at run time, which the static path check cannot see; `log`
// writes to the console from inside a prompt. Neither is needed by a rubric.
hb.unregisterHelper('lookup');
hb.unregisterHelper('log');
/** Like `each`, over a list only, with a 1-based `@number` for numbered lists of principles. */
hb.registerHelper('numbered', function (this: unknown, list: unknown, options: HelperOptions) {
  if (!Array.isArray(list)) {
    throw new Error(`numbered needs a list, got ${list === null ? 'null' : typeof list}`);
  }
  if (list.length === 0) return options.inverse(this);
  let out = '';
  list.forEach((item, i) => {
    const data = hb.createFrame(options.data ?? {});
    Object.assign(data, {
      index: i,
      number: i + 1,
      first: i === 0,
      last: i === list.length - 1,
    });
    out += options.fn(item, { data });
  });
  return out;
});

export const COMPILE_OPTIONS = {
  strict: true,
  noEscape: true,
  knownHelpersOnly: true,
  knownHelpers: { numbered: true },
} as const;

export const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
  allowCallsToHelperMissing: false,
};

// The prototype of every object handed to Handlebars: empty, except for the toString that
// Handlebars' own strict-mode message ("x" not defined in <obj>) needs to build its text.
const DATA_PROTO: object = Object.freeze(
  Object.create(null, { toString: { value: () => '[object]', enumerable: false } }),
);

/** The variables of one render, copied into template data (see templateData). */
export function templateVariables(
  vars: Record<string, unknown>,
  rubricPath: string,
): Record<string, unknown> {
  const data = Object.create(DATA_PROTO) as Record<string, unknown>;
  for (const [k, v] of Object.entries(vars)) data[k] = templateData(v, k, rubricPath, new Set());
  return data;
}

/**
 * Copy a variable into plain data: own enumerable properties only, on objects whose prototype is
 * DATA_PROTO. Strict mode then reports an inherited property as undefined instead of reading it,
 * and no function reaches Handlebars (which would call it as a lambda).
 */
function templateData(
  value: unknown,
  where: string,
  rubricPath: string,
  seen: Set<object>,
): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') {
      return fail(
        'E_RUBRIC_RENDER',
        `${rubricPath}: variable "${where}" is a ${typeof value}; rubric variables must be data`,
        'pass strings, numbers, booleans, lists and plain objects',
      );
    }
    return value;
  }
  if (seen.has(value)) {
    return fail(
      'E_RUBRIC_RENDER',
      `${rubricPath}: variable "${where}" refers to itself`,
      'pass plain, acyclic data',
    );
  }
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v, i) => templateData(v, `${where}[${i}]`, rubricPath, seen));
  } else {
    const obj = Object.create(DATA_PROTO) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) obj[k] = templateData(v, `${where}.${k}`, rubricPath, seen);
    }
    out = obj;
  }
  seen.delete(value);
  return out;
}
