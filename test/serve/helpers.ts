// Shared by the serve tests: a server over builtin:tiny on a free loopback port, raw HTTP
// requests, and a random PEFT adapter for the tiny model.
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/index.js';
import { loadModel } from '../../src/engine/model/load-model.js';
import { loraAName, loraBName, loraModules } from '../../src/engine/train/lora.js';
import { saveLoraAdapter } from '../../src/engine/train/save.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/serve/server.js';
import { testRng } from '../helpers/tiny-config.js';

export const MODEL = 'builtin:tiny';

export async function tinyServer(over: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const open = (adapter?: string) => Engine.open(MODEL, { adapter, threads: 1 });
  return startServer(
    { engine: await open(), modelName: MODEL, openAdapter: (p) => open(p), ...over },
    { host: '127.0.0.1', port: 0 },
  );
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One request with node:http (no client-side checks): a string body is sent as is. */
export function raw(
  base: string,
  method: string,
  path: string,
  body?: string | object,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const data =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A PEFT adapter for builtin:tiny with random (nonzero) A and B: it changes the outputs. */
export function randomTinyAdapter(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'rlaif-serve-lora-')), 'adapter');
  const base = loadModel(MODEL);
  const spec = { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] };
  const next = testRng(42);
  const params = new Map<string, Float32Array>();
  for (const m of loraModules(base.config, spec.targets)) {
    params.set(
      loraAName(m.module),
      Float32Array.from({ length: spec.r * m.in }, () => next() - 0.5),
    );
    params.set(
      loraBName(m.module),
      Float32Array.from({ length: m.out * spec.r }, () => next() - 0.5),
    );
  }
  saveLoraAdapter(dir, base, spec, params);
  base.close();
  return dir;
}
