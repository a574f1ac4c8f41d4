// The house's import direction, as an ESLint rule: each folder of src/ (a layer) names the layers
// it may import; everything else is an error that `npm test` reports. Layers, top to bottom:
//
//   cli                          parses argv, meets everything
//   run                          the rounds loop
//   report, ui                   read runs / draw events (ui sees nothing but events)
//   stages                       one module per stage kind, no stage imports a sibling
//   audit                        the human audit: its page and server, CSV, judge-vs-human stats
//   serve                        `pipeline serve`: an OpenAI-compatible server over the engine
//   remote                       the policy on an OpenAI-compatible server
//   judges                       rule, model and server judges
//   prompts, store, spec, hub,   texts and answer formats, the ledger, pipeline files, downloads,
//   sandbox                      and a procedural task world with exact graders
//   engine                       the standalone model library (reached through engine/index.ts)
//   events, core                 the run's typed events; errors and seeded randomness
import { dirname, relative, resolve, sep } from 'node:path';

/** Layer -> layers it may import (its own files are always allowed). */
export const LAYERS = {
  core: [],
  events: ['core', 'spec'], // spec for StageKind (type only), the one list of stage kinds
  engine: ['core'],
  hub: ['core'],
  spec: ['core', 'engine'],
  prompts: ['core'],
  sandbox: ['core'],
  store: ['core', 'engine'],
  judges: ['core', 'engine', 'prompts', 'sandbox', 'spec'],
  audit: ['core', 'spec', 'store'],
  remote: ['core', 'engine', 'judges', 'spec'],
  stages: [
    'audit',
    'core',
    'engine',
    'events',
    'judges',
    'prompts',
    'remote',
    'sandbox',
    'spec',
    'store',
  ],
  run: [
    'core',
    'engine',
    'events',
    'judges',
    'prompts',
    'remote',
    'sandbox',
    'spec',
    'stages',
    'store',
  ],
  report: ['audit', 'core', 'events', 'spec', 'store'],
  ui: ['events'],
  'sandbox-build': ['core', 'engine', 'prompts', 'sandbox'],
  serve: ['core', 'engine'],
  cli: ['*'],
};

/** Files under src/stages/ that are a stage kind's own module (a file or a folder). */
export const STAGE_MODULES = [
  'generate',
  'critique',
  'judge',
  'pair',
  'audit',
  'train',
  'reward-model',
  'rl',
  'evaluate',
];

/** Layers whose files outside the engine may import only through this file. */
export const ENGINE_FACE = 'engine/index.ts';

const srcRoot = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src');

/** ['stages', 'judge', ...] for src/stages/judge/x.ts; null outside src/. */
function segments(file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..') || rel === '') return null;
  return rel.split(sep);
}

function layerOf(segs) {
  return segs.length === 1 ? segs[0].replace(/\.(js|tsx?)$/, '') : segs[0];
}

function stageModuleOf(segs) {
  if (segs[0] !== 'stages' || segs.length < 2) return null;
  const name = segs[1].replace(/\.(js|tsx?)$/, '');
  return STAGE_MODULES.includes(name) ? name : null;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports point down the layers of src/ (see eslint/layers.js)' },
    schema: [],
    messages: {
      layer:
        'src/{{from}} may not import src/{{to}}: imports point downwards ({{from}} may import {{allowed}}); move the shared piece down a layer or pass it in',
      sibling:
        'stage {{from}} may not import stage {{to}}: stages share code through the files beside them in src/stages/ (context, judge setup, sampling options)',
      face: "outside the engine, import the engine through src/engine/index.js, not '{{spec}}'",
      outside: "src/ may not import '{{spec}}' from outside src/",
    },
  },
  create(context) {
    const file = resolve(context.filename);
    const fromSegs = segments(file);
    if (!fromSegs) return {};
    const from = layerOf(fromSegs);
    const allowed = LAYERS[from];
    if (!allowed) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolve(dirname(file), spec);
      const toSegs = segments(target);
      if (!toSegs) return context.report({ node, messageId: 'outside', data: { spec } });
      const to = layerOf(toSegs);
      if (to !== from && !allowed.includes('*') && !allowed.includes(to))
        return context.report({
          node,
          messageId: 'layer',
          data: { from, to, allowed: allowed.length ? allowed.join(', ') : 'nothing' },
        });
      const a = stageModuleOf(fromSegs);
      const b = stageModuleOf(toSegs);
      if (a && b && a !== b)
        return context.report({ node, messageId: 'sibling', data: { from: a, to: b } });
      if (
        to === 'engine' &&
        from !== 'engine' &&
        toSegs.join('/') !== ENGINE_FACE.replace(/\.ts$/, '.js')
      )
        return context.report({ node, messageId: 'face', data: { spec } });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default { rules: { direction: rule } };
