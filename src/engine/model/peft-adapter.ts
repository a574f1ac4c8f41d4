import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../core/errors.js';
import { SafetensorsFile } from './safetensors.js';

/** The parts of PEFT's adapter_config.json (LoRA) that change the numbers. */
export interface LoraConfig {
  r: number;
  loraAlpha: number;
  targetModules: string[] | string;
  useRslora: boolean;
  /** alpha / r, or alpha / sqrt(r) with rsLoRA (PEFT's LoraLayer.update_layer). */
  scale: number;
  baseModel?: string;
}

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** PEFT prefixes checkpoint module names with this in adapter files. */
export const PEFT_PREFIX = 'base_model.model.';

export function parseLoraConfig(json: Record<string, unknown>, source: string): LoraConfig {
  const bad = (field: string, what: string, hint: string): never =>
    fail('E_ADAPTER_CONFIG', `${source}: ${field} ${what}`, hint);
  if (json.peft_type !== undefined && json.peft_type !== 'LORA')
    bad('peft_type', `is ${JSON.stringify(json.peft_type)}`, 'only LoRA adapters are supported');
  const r = json.r;
  const alpha = json.lora_alpha ?? r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1)
    bad('r', `is ${JSON.stringify(r)}`, 'r must be a positive integer');
  if (typeof alpha !== 'number')
    bad('lora_alpha', `is ${JSON.stringify(alpha)}`, 'lora_alpha must be a number');
  if (json.fan_in_fan_out === true)
    bad('fan_in_fan_out', 'is true', 'only Linear (not Conv1D) LoRA layers are supported');
  if (json.use_dora === true)
    bad('use_dora', 'is true', 'DoRA adapters are not supported; train a plain LoRA adapter');
  for (const f of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = json[f];
    if (v && typeof v === 'object' && Object.keys(v).length)
      bad(f, 'is not empty', 'per-module ranks or alphas are not supported');
  }
  if (Array.isArray(json.modules_to_save) && json.modules_to_save.length)
    bad(
      'modules_to_save',
      `is ${JSON.stringify(json.modules_to_save)}`,
      'adapters that save full modules are not supported',
    );
  const useRslora = json.use_rslora === true;
  const rr = r as number;
  const aa = alpha as number;
  return {
    r: rr,
    loraAlpha: aa,
    targetModules: (json.target_modules as string[] | string | undefined) ?? [],
    useRslora,
    scale: useRslora ? aa / Math.sqrt(rr) : aa / rr,
    baseModel:
      typeof json.base_model_name_or_path === 'string' ? json.base_model_name_or_path : undefined,
  };
}

export interface LoraAdapter {
  dir: string;
  config: LoraConfig;
  /** Per checkpoint module (`model.layers.0.self_attn.q_proj`): A [r, in] and B [out, r]. */
  modules: Map<string, { a: Float32Array; aDims: number[]; b: Float32Array; bDims: number[] }>;
}

/** Load a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors). */
export function loadLoraAdapter(dir: string): LoraAdapter {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const wPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(cfgPath) || !existsSync(wPath))
    fail(
      'E_ADAPTER_NOT_FOUND',
      `not a PEFT adapter folder: ${dir} (needs ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS})`,
      'pass the folder written by `pipeline train` or by PEFT save_pretrained(safe_serialization=True)',
    );
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    return fail(
      'E_ADAPTER_CONFIG',
      `${cfgPath}: invalid JSON: ${(e as Error).message}`,
      'fix or re-export the adapter',
    );
  }
  const config = parseLoraConfig(json, cfgPath);
  const file = SafetensorsFile.open(wPath);
  const modules: LoraAdapter['modules'] = new Map();
  try {
    for (const name of file.names()) {
      const m = /^base_model\.model\.(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
      if (!m) continue;
      const bName = name.replace('.lora_A', '.lora_B');
      if (!file.names().includes(bName))
        fail(
          'E_ADAPTER_WEIGHTS',
          `${wPath}: ${name} has no matching ${bName}`,
          're-export the adapter',
        );
      const aInfo = file.info(name);
      const bInfo = file.info(bName);
      if (aInfo.shape[0] !== config.r || bInfo.shape[1] !== config.r)
        fail(
          'E_ADAPTER_WEIGHTS',
          `${wPath}: ${name} has shape [${aInfo.shape}] and ${bName} [${bInfo.shape}], not rank r=${config.r}`,
          'adapter_config.json and the weights disagree; re-export the adapter',
        );
      modules.set(m[1], {
        a: file.readFloat32(name),
        aDims: aInfo.shape,
        b: file.readFloat32(bName),
        bDims: bInfo.shape,
      });
    }
  } finally {
    file.close();
  }
  if (modules.size === 0)
    fail(
      'E_ADAPTER_WEIGHTS',
      `${wPath}: no LoRA tensors (…lora_A.weight / …lora_B.weight)`,
      'check the adapter file',
    );
  return { dir, config, modules };
}

/** W + scale · B·A for a Linear weight W [out, in] (in place on a copy). */
export function mergeLora(
  w: Float32Array,
  out: number,
  inF: number,
  mod: { a: Float32Array; b: Float32Array },
  r: number,
  scale: number,
): Float32Array {
  const merged = Float32Array.from(w);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < r; k++) {
      const bk = mod.b[o * r + k] * scale;
      if (bk === 0) continue;
      const aRow = k * inF;
      const wRow = o * inF;
      for (let i = 0; i < inF; i++) merged[wRow + i] += bk * mod.a[aRow + i];
    }
  }
  return merged;
}
