// The committed types must be what the committed merged OpenAPI document generates (`make openapi` redoes both).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/generate.mjs', import.meta.url));

test('src/generated/openapi.ts is up to date with docs/openapi.json', () => {
  const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.equal(run.status, 0,
    `src/generated/openapi.ts differs from what docs/openapi.json generates: run \`make openapi\` (or \`npm run generate\` in sdk/typescript)\n${run.stdout}${run.stderr}`);
});
