// The committed types must be what the committed merged OpenAPI document generates (`make openapi` redoes both).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(createRequire(import.meta.url).resolve('openapi-typescript/package.json'), '..', 'bin', 'cli.js');

test('src/generated/openapi.ts is up to date with docs/openapi.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-types-'));
  try {
    const fresh = join(dir, 'openapi.ts');
    execFileSync(process.execPath, [cli, join(root, '..', '..', 'docs', 'openapi.json'), '--output', fresh],
      { cwd: root, stdio: 'pipe' });
    const committed = readFileSync(join(root, 'src', 'generated', 'openapi.ts'), 'utf8');
    assert.ok(committed === readFileSync(fresh, 'utf8'),
      'src/generated/openapi.ts differs from what docs/openapi.json generates: run `make openapi` (or `npm run generate` in sdk/typescript)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
