// The CommonJS half of the package, loaded through its own name and `exports` map.
const assert = require('node:assert/strict');
const { test } = require('node:test');

test('require() gives the same API as import', async () => {
  const sdk = require('@backstage/marketplace-sdk');
  const esm = await import('@backstage/marketplace-sdk');
  assert.deepEqual(Object.keys(sdk).sort(), Object.keys(esm).sort());
  const client = new sdk.MarketplaceClient({ baseUrl: 'https://portal.example/api/marketplace/v1/' });
  assert.equal(client.baseUrl, 'https://portal.example/api/marketplace/v1');
  assert.equal(client.url('/api/marketplace/v1/plugins?page=2'), 'https://portal.example/api/marketplace/v1/plugins?page=2');
  assert.ok(new sdk.PluginNotFoundError('x') instanceof sdk.NotFoundError);
  const pkg = require('@backstage/marketplace-sdk/package.json');
  assert.deepEqual(pkg.dependencies ?? {}, {});
  assert.equal(pkg.sideEffects, false);
});
