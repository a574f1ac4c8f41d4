// Which files a pipeline file refers to, and which of them are rubric templates (with the stage
// that renders each one and the rubric mode it needs there).

import { isRecord, rawStages, stageKindOf, valueAt } from './raw-value.js';
import type { Path } from './problems.js';

/** What a rubric is used for, in the words of a rubric's `mode:` front matter. */
export type RubricUse =
  'pointwise' | 'pairwise' | 'critique' | 'revision' | 'self-instruct' | 'meta-judge';

/** Where a template is used: the stage field that names it and the rubric mode it needs there. */
export interface TemplateUse {
  /** The YAML field, e.g. `rubric`, `critique_rubric`, `revision_rubric`. */
  field: string;
  /** judge (generate/logprobs) and evaluate: pointwise; judge (pairwise): pairwise; critique:
   *  critique or revision; prompts.self_instruct: self-instruct. */
  rubricMode: RubricUse;
}

export type FileKind = 'file' | 'model' | 'adapter';

export interface FileRef {
  path: Path;
  value: string;
  kind: FileKind;
  template?: { stageKind: string; use: TemplateUse };
}

/**
 * Every file the pipeline refers to, read from the raw YAML value rather than the parsed spec:
 * a stage with an unrelated mistake (a typo in another key) still gets its files checked.
 */
export function fileRefs(raw: unknown): FileRef[] {
  const refs: FileRef[] = [];
  const add = (path: Path, kind: FileKind, template?: FileRef['template']): void => {
    const v = valueAt(raw, path);
    if (typeof v === 'string' && v !== '') refs.push({ path, value: v, kind, template });
  };
  add(['model', 'path'], 'model');
  add(['model', 'adapter'], 'adapter');
  add(['prompts', 'file'], 'file');
  add(['prompts', 'self_instruct', 'rubric'], 'file', {
    stageKind: 'self_instruct',
    use: { field: 'rubric', rubricMode: 'self-instruct' },
  });
  const judges = isRecord(raw) ? raw.judges : undefined;
  if (isRecord(judges))
    for (const [name, j] of Object.entries(judges)) {
      if (!isRecord(j)) continue;
      if (j.kind === 'model' || j.kind === 'reward_model') {
        add(['judges', name, 'path'], 'model');
        add(['judges', name, 'adapter'], 'adapter');
      } else if (j.kind === 'rule' && Array.isArray(j.rules)) {
        j.rules.forEach((r, k) => {
          if (isRecord(r) && r.kind === 'banned_phrases')
            add(['judges', name, 'rules', k, 'file'], 'file');
        });
      }
    }
  rawStages(raw).forEach((st, i) => {
    const kind = stageKindOf(st);
    const at = (field: string): Path => ['stages', i, field];
    const tpl = (field: string, rubricMode: RubricUse) =>
      kind ? { stageKind: kind, use: { field, rubricMode } } : undefined;
    const judgeMode = isRecord(st) ? st.mode : undefined;
    switch (kind) {
      case 'critique':
        add(at('constitution'), 'file');
        add(at('critique_rubric'), 'file', tpl('critique_rubric', 'critique'));
        add(at('revision_rubric'), 'file', tpl('revision_rubric', 'revision'));
        break;
      case 'judge':
        add(
          at('rubric'),
          'file',
          tpl('rubric', judgeMode === 'pairwise' ? 'pairwise' : 'pointwise'),
        );
        add(at('constitution'), 'file');
        add(['stages', i, 'meta_judge', 'rubric'], 'file', tpl('meta_judge.rubric', 'meta-judge'));
        break;
      case 'evaluate':
        add(at('probes'), 'file');
        add(at('rubric'), 'file', tpl('rubric', 'pointwise'));
        add(at('refusal_phrases'), 'file');
        add(at('boilerplate_phrases'), 'file');
        break;
      default:
        break;
    }
  });
  return refs;
}
