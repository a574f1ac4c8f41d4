import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '../model/load-model.js';
import { modelTensorNames } from '../model/tensor-layout.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, mergeLora, PEFT_PREFIX } from '../model/peft-adapter.js';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors-write.js';
import { loraAName, loraBName, loraModules, loraScale, savedWhole, type LoraSpec } from './lora.js';

/** Files besides weights and config that make a model folder usable by transformers and by us. */
const SIDE_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'generation_config.json',
  'special_tokens_map.json',
];

/**
 * A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors with PEFT's tensor
 * names) that PEFT's PeftModel.from_pretrained and vLLM load. Tensors of the spec's
 * modules_to_save (trained under their checkpoint keys) are stored as PEFT stores them,
 * `base_model.model.<key>`; `taskType` is PEFT's task_type (SEQ_CLS for a reward model).
 */
export function saveLoraAdapter(
  dir: string,
  base: LoadedModel,
  spec: LoraSpec,
  params: Map<string, Float32Array>,
  meta: Record<string, string> = {},
  taskType: 'CAUSAL_LM' | 'SEQ_CLS' = 'CAUSAL_LM',
): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const m of loraModules(base.config, spec.targets)) {
    tensors[loraAName(m.module)] = {
      dtype: 'F32',
      shape: [spec.r, m.in],
      data: params.get(loraAName(m.module))!,
    };
    tensors[loraBName(m.module)] = {
      dtype: 'F32',
      shape: [m.out, spec.r],
      data: params.get(loraBName(m.module))!,
    };
  }
  for (const [key, data] of params)
    if (savedWhole(spec, key))
      tensors[`${PEFT_PREFIX}${key}`] = {
        dtype: 'F32',
        shape: base.weights.get(key).dims,
        data,
      };
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt', ...meta });
  const config = {
    peft_type: 'LORA',
    task_type: taskType,
    base_model_name_or_path: base.ref.startsWith('builtin:') ? base.ref : base.dir,
    r: spec.r,
    lora_alpha: spec.alpha,
    lora_dropout: 0.0,
    target_modules: spec.targets,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: !!spec.useRslora,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: spec.modulesToSave?.length ? spec.modulesToSave : null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(config, null, 2) + '\n');
}

/**
 * A full Hugging Face checkpoint (float32 safetensors + config + tokenizer files) that
 * transformers' from_pretrained loads. `override` replaces tensors by checkpoint key (full
 * fine-tuning); `lora` merges an adapter into its Linear layers: W + scale · B·A, and takes its
 * modules_to_save tensors as trained.
 */
export function saveFullCheckpoint(
  dir: string,
  base: LoadedModel,
  opts: {
    override?: Map<string, Float32Array>;
    lora?: { spec: LoraSpec; params: Map<string, Float32Array> };
  } = {},
): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  const scale = opts.lora ? loraScale(opts.lora.spec) : 0;
  const targeted = new Set(
    opts.lora ? loraModules(base.config, opts.lora.spec.targets).map((m) => m.module) : [],
  );
  for (const key of modelTensorNames(base.config)) {
    const { dims, data } = base.weights.get(key);
    const trainedWhole =
      opts.lora && savedWhole(opts.lora.spec, key) ? opts.lora.params.get(key) : undefined;
    let out = opts.override?.get(key) ?? trainedWhole ?? data;
    const module = key.replace(/\.weight$/, '');
    if (opts.lora && targeted.has(module)) {
      const a = opts.lora.params.get(loraAName(module))!;
      const b = opts.lora.params.get(loraBName(module))!;
      out = mergeLora(out, dims[0], dims[1], { a, b }, opts.lora.spec.r, scale);
    }
    tensors[key] = { dtype: 'F32', shape: dims, data: out };
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const config = { ...base.config.raw, dtype: 'float32' };
  delete (config as Record<string, unknown>).torch_dtype;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of SIDE_FILES)
    if (existsSync(join(base.dir, f))) copyFileSync(join(base.dir, f), join(dir, f));
}
