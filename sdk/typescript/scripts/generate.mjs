// Generates src/generated/openapi.ts from the merged public document, docs/openapi.json.
// `node scripts/generate.mjs --check` only checks that the committed file is what it would generate.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(dirname(createRequire(import.meta.url).resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
// Defaults in the document are server-side defaults: they must not make request fields required.
const args = [cli, join(root, '..', '..', 'docs', 'openapi.json'), '--output', join(root, 'src', 'generated', 'openapi.ts'),
  '--default-non-nullable', 'false', ...process.argv.slice(2)];
process.exitCode = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
