// The TypeScript SDK against the real system, installed from its `npm pack` tarball. Run by
// tests-e2e/test_sdk_typescript.py with E2E_CONFIG naming a JSON file: the gateway URLs, the admin
// key, the packages and images to upload, the spec. Prints one JSON line with the checks that passed.
import assert from 'node:assert/strict';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  ConflictError,
  ForbiddenError,
  MarketplaceClient,
  NotFoundError,
  Page,
  PluginNotFoundError,
  RateLimitError,
  UnauthorizedError,
  ValidationError,
  verifyWebhook,
} from '@backstage/marketplace-sdk';

const config = JSON.parse(readFileSync(process.env.E2E_CONFIG, 'utf8'));
const checks = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function client(key, options = {}) {
  return new MarketplaceClient({ apiKey: key, baseUrl: config.gatewayUrl, timeout: 30_000, ...options });
}

/** Polls `fn` until it returns something truthy. */
async function waitFor(fn, message, timeout = 30_000, interval = 200) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await sleep(interval);
  }
}

async function rejects(promise, Cls) {
  const error = await promise.then(() => assert.fail(`expected ${Cls.name}`), (e) => e);
  assert.ok(error instanceof Cls, `expected ${Cls.name}, got ${error?.name}: ${error?.message}`);
  return error;
}

const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 12)}`;
const versionMetadata = (version, extra = {}) => ({
  version, changelog: `Release ${version}`,
  compatibility: { backstage: '^1.30.0', node: '>=18.0.0', platform: ['linux'] }, ...extra,
});
const file = (name) => readFileSync(config.files[name]);

/** The install service learns plugins from events: retry while it answers 404. */
function installWhenKnown(user, pluginId, body) {
  return waitFor(() => user.plugins.install(pluginId, body).catch((error) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  }), `the install service to know ${pluginId}`);
}

// -- a webhook receiver -------------------------------------------------------------------------
const received = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
const requestsWhere = (test, count = 1) => waitFor(() => {
  const found = received.filter(test);
  return found.length >= count ? found : null;
}, `${count} webhook request(s)`);

try {
  // -- accounts and API keys ----------------------------------------------------------------------
  const admin = client(config.adminKey);
  async function account(role, extra = {}) {
    const name = unique(role);
    const made = await admin.accounts.create({ name, email: `${name}@example.com`, role, ...extra });
    const key = (await admin.accounts.createAccountKey(made.id, { name: 'ts-e2e' })).key;
    return Object.assign(client(key), { account: made, key });
  }
  const publisher = await account('publisher');
  const user = await account('user');
  const me = await user.me();
  assert.equal(me.id, user.account.id);
  assert.equal((await user.accounts.me()).role, 'user');
  assert.equal((await admin.accounts.get(user.account.id)).email, user.account.email);
  assert.ok((await admin.accounts.list({ limit: 100 })).total >= 2);
  const extraKey = await user.accounts.createApiKey({ name: 'second key' });
  assert.match(extraKey.key, /^mkp_/);
  const keys = await user.accounts.apiKeys();
  assert.ok(keys.some((k) => k.id === extraKey.id));
  await user.accounts.revokeApiKey(extraKey.id);
  await waitFor(() => client(extraKey.key).me().then(() => false, (e) => e instanceof UnauthorizedError),
    'the revoked key to be refused');
  checks.push('accounts');

  // -- publisher ----------------------------------------------------------------------------------
  const [mainName, otherName, thirdName] = config.names;
  const plugin = await publisher.publisher.createPlugin({
    name: mainName, displayName: 'Main', category: 'monitoring', description: `The ${mainName} plugin, from the TypeScript SDK`,
    tags: ['sdk', 'e2e'], license: 'Apache-2.0',
  });
  assert.match(plugin.id, /^plugin_/);
  await publisher.publisher.publishVersion(plugin.id, file(`${mainName}-1.0.0`), versionMetadata('1.0.0'));
  await publisher.publisher.publishVersion(plugin.id,
    { name: `${mainName}-1.2.3.tgz`, data: createReadStream(config.files[`${mainName}-1.2.3`]) }, versionMetadata('1.2.3'));
  await admin.publisher.updatePlugin(plugin.id, { verified: true });
  await publisher.publisher.uploadImages(plugin.id, {
    icon: new Blob([file('icon0')], { type: 'image/png' }),
    screenshots: [{ name: 'one.png', data: file('icon1') }, { name: 'two.png', data: file('icon2') }],
  });
  const details = await publisher.plugins.get(plugin.id);
  assert.ok(details.icon);
  assert.equal(details.screenshots.length, 2);
  assert.equal(details.verified, true);
  assert.equal(details.version, '1.2.3');
  assert.equal((await publisher.publisher.updatePlugin(plugin.id, { longDescription: '# Long\nText' })).longDescription, '# Long\nText');
  await rejects(publisher.publisher.publishVersion(plugin.id, file(`${mainName}-1.0.0`), versionMetadata('1.0.0')), ConflictError);
  await rejects(user.publisher.createPlugin({ name: unique('x'), description: 'x', category: 'monitoring' }), ForbiddenError);

  const other = await publisher.publisher.createPlugin({ name: otherName, description: 'Another one', category: 'ci-cd' });
  await publisher.publisher.publishVersion(other.id,
    { name: 'other.tgz', data: Readable.toWeb(createReadStream(config.files[`${otherName}-0.1.0`])) }, versionMetadata('0.1.0'));
  await publisher.publisher.publishVersion(other.id, file(`${otherName}-0.2.0`), versionMetadata('0.2.0'));
  const yanked = await publisher.publisher.yank(other.id, '0.2.0', 'Broken build');
  assert.equal(yanked.yanked, true);
  assert.equal(yanked.yankReason, 'Broken build');
  const otherVersions = Object.fromEntries((await publisher.plugins.versions(other.id)).data.map((v) => [v.version, v]));
  assert.ok(otherVersions['0.2.0'].yanked && !otherVersions['0.1.0'].yanked);
  assert.match((await publisher.plugins.getVersion(other.id, '0.1.0')).package.integrity, /^sha/);
  const deprecated = await publisher.publisher.deprecate(other.id, { reason: 'Superseded', replacement: mainName });
  assert.ok(JSON.stringify(deprecated).includes('Superseded'));
  await publisher.publisher.unpublish(other.id);
  await rejects(user.plugins.get(other.id), PluginNotFoundError);
  await publisher.publisher.publish(other.id);
  assert.equal((await user.plugins.get(other.id)).id, other.id);
  const third = await publisher.publisher.createPlugin({ name: thirdName, description: 'A third one', category: 'monitoring' });
  await publisher.publisher.publishVersion(third.id, file(`${thirdName}-1.0.0`), versionMetadata('1.0.0'));
  checks.push('publisher');

  // -- catalog ------------------------------------------------------------------------------------
  const monitoring = await user.plugins.list({ category: 'monitoring', verified: true, limit: 100 });
  assert.ok(monitoring instanceof Page);
  assert.equal(monitoring.pagination.limit, 100);
  assert.ok(monitoring.data.every((p) => p.category === 'monitoring' && p.verified));
  const everyMonitoring = [];
  for await (const p of user.plugins.list({ category: 'monitoring', verified: true })) everyMonitoring.push(p.id);
  assert.ok(everyMonitoring.includes(plugin.id));
  assert.equal((await user.plugins.get(mainName)).id, plugin.id);
  assert.deepEqual((await user.plugins.versions(plugin.id)).data.map((v) => v.version), ['1.2.3', '1.0.0']);
  const found = await user.plugins.search({ query: mainName, limit: 5 });
  assert.equal(found.data[0].id, plugin.id);
  assert.ok((await user.plugins.search({ query: mainName, filters: { categories: ['monitoring'], verified: true } })).total >= 1);
  const stats = await user.plugins.stats(plugin.id);
  for (const key of ['usage', 'performance', 'trends']) assert.ok(key in stats, key);
  const categories = Object.fromEntries((await user.plugins.categories()).map((c) => [c.name, c.count]));
  assert.ok(categories.monitoring >= 1);
  assert.ok(Array.isArray(await user.plugins.tags()));
  const downloaded = await user.plugins.download(plugin.id);
  assert.equal(downloaded.version, '1.2.3');
  assert.deepEqual(Buffer.from(downloaded.data), file(`${mainName}-1.2.3`));
  assert.equal(downloaded.integrity, (await user.plugins.getVersion(plugin.id, '1.2.3')).package.integrity);
  assert.equal((await user.plugins.download(plugin.id, '1.0.0')).size, file(`${mainName}-1.0.0`).length);
  checks.push('catalog');

  // -- pagination ---------------------------------------------------------------------------------
  const first = await user.plugins.list({ limit: 2 });
  assert.ok(first.total >= 3 && first.hasNextPage());
  assert.equal(first.totalPages, Math.ceil(first.total / 2));
  const walked = [];
  for await (const p of first) walked.push(p.id);
  assert.equal(walked.length, first.total);
  assert.equal(new Set(walked).size, walked.length);
  const second = await first.nextPage();
  assert.equal(second.page, 2);
  assert.ok(second.hasPrevPage());
  assert.equal(second.data[0].id, walked[2]);
  assert.ok(String(first.links.next).startsWith('/api/marketplace/v1/plugins?page=2'), String(first.links.next));
  checks.push('pagination');

  // -- errors ---------------------------------------------------------------------------------------
  const missing = await rejects(user.plugins.get('plugin_does_not_exist'), PluginNotFoundError);
  assert.equal(missing.code, 'PLUGIN_NOT_FOUND');
  assert.equal(missing.status, 404);
  assert.ok(missing.message.includes('plugin_does_not_exist'));
  assert.ok(missing.requestId && missing.requestId === missing.headers.get('x-request-id'));
  const invalid = await rejects(user.plugins.list({ limit: 1000 }), ValidationError);
  assert.equal(invalid.status, 400);
  assert.ok('limit' in invalid.fields, JSON.stringify(invalid.details));
  await rejects(client(undefined).plugins.install(plugin.id, { environment: unique('env') }), UnauthorizedError);
  await rejects(client('mkp_not_a_real_key').me(), UnauthorizedError);
  await rejects(user.installations.get('install_does_not_exist'), NotFoundError);
  await rejects(user.accounts.list(), ForbiddenError);
  checks.push('errors');

  // -- rate limits ----------------------------------------------------------------------------------
  const limited = await account('user', { tier: 'enterprise', rateLimitPerHour: 3 });
  const impatient = client(limited.key, { maxRetryWait: 5000, sleep: async (ms) => assert.fail(`slept ${ms} ms beyond the bound`) });
  for (let i = 0; i < 3; i += 1) await impatient.plugins.list({ limit: 1 });
  assert.equal(impatient.rateLimit.limit, 3);
  const refused = await rejects(impatient.plugins.list({ limit: 1 }), RateLimitError);
  assert.equal(refused.status, 429);
  assert.equal(refused.code, 'RATE_LIMITED');
  assert.ok(refused.retryAfter > 5 && refused.retryAfter <= 3600, String(refused.retryAfter));
  assert.ok(refused.reset > new Date() && refused.reset <= new Date(Date.now() + 3605_000));
  assert.equal(refused.remaining, 0);
  assert.equal(refused.limit, 3);

  const statuses = [];
  const waits = [];
  const retrying = new MarketplaceClient({
    apiKey: user.key, baseUrl: config.strictGatewayUrl, maxRetries: 3, maxRetryWait: 10_000,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      statuses.push(response.status);
      return response;
    },
    sleep: async (ms) => {
      waits.push(ms);
      await sleep(ms);
    },
  });
  for (let i = 0; i < 5; i += 1) await retrying.plugins.list({ limit: 1 });
  assert.ok(statuses.includes(429), String(statuses));
  assert.equal(statuses.filter((s) => s === 200).length, 5);
  assert.ok(waits.length && waits.every((ms) => ms >= 1000 && ms <= 2000), String(waits));
  checks.push('rate-limits');

  // -- webhooks -------------------------------------------------------------------------------------
  const secret = `ts-e2e-${unique('secret')}`;
  const webhook = await user.webhooks.create({ url: receiverUrl, events: ['plugin.installed', 'plugin.error'], secret, description: 'TS e2e' });
  assert.deepEqual(webhook.events, ['plugin.installed', 'plugin.error']);
  assert.ok((await user.webhooks.list()).data.some((w) => w.id === webhook.id));
  assert.equal((await user.webhooks.get(webhook.id)).description, 'TS e2e');
  assert.equal((await user.webhooks.update(webhook.id, { description: 'renamed' })).description, 'renamed');
  const ping = await user.webhooks.ping(webhook.id);
  const [pinged] = await requestsWhere((r) => r.headers['webhook-id'] === ping.id);
  const pingPayload = await verifyWebhook({ secret, headers: pinged.headers, body: pinged.body });
  assert.ok(pingPayload.event);
  const rows = await waitFor(async () => {
    const page = await user.webhooks.deliveries(webhook.id);
    return page.data[0]?.status === 'succeeded' ? page.data : null;
  }, 'the delivery log');
  assert.equal(rows[0].id, ping.id);
  assert.equal((await user.webhooks.delivery(webhook.id, ping.id)).attempts[0].statusCode, 204);
  await user.webhooks.redeliver(webhook.id, ping.id);
  const again = await requestsWhere((r) => r.headers['webhook-id'] === ping.id, 2);
  await verifyWebhook({ secret, headers: again[1].headers, body: again[1].body });
  const rotated = await user.webhooks.rotateSecret(webhook.id);
  assert.ok(rotated.secret.startsWith('whsec_') && rotated.secret !== secret);
  const ping2 = await user.webhooks.ping(webhook.id);
  const [afterRotation] = await requestsWhere((r) => r.headers['webhook-id'] === ping2.id);
  await verifyWebhook({ secret: rotated.secret, headers: afterRotation.headers, body: afterRotation.body });
  await verifyWebhook({ secrets: [secret], headers: afterRotation.headers, body: afterRotation.body }); // grace period
  assert.equal((await user.webhooks.recover(webhook.id, { since: new Date(Date.now() - 3600_000).toISOString() })).recovered, 0);
  checks.push('webhooks');

  // -- installations --------------------------------------------------------------------------------
  const env = unique('env');
  const started = await installWhenKnown(user, plugin.id, {
    version: '1.0.0', environment: env, namespace: 'backstage-plugins', deploymentStrategy: 'rolling', configuration: {},
  });
  assert.ok(['pending', 'in_progress'].includes(started.status));
  assert.equal(started.details.version, '1.0.0');
  const progress = [];
  const lines = [];
  const done = await user.installations.wait(started, {
    pollInterval: 200, timeout: 120_000, onProgress: (i) => progress.push(i), onLog: (l) => lines.push(l),
  });
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.ok(progress.length >= 2);
  assert.equal(progress.at(-1).progress.percentage, 100);
  assert.equal(progress.at(-1).status, 'completed');
  const allLines = [];
  for await (const line of user.installations.iterLogs(started)) allLines.push(line.id);
  assert.ok(lines.length);
  assert.deepEqual(lines.map((l) => l.id), allLines);
  const batch = await user.installations.logs(started, { limit: 2 });
  assert.equal(batch.data.length, 2);
  assert.deepEqual((await user.installations.logs(started, { cursor: batch.nextCursor })).data[0], lines[2]);
  const listed = await user.installations.list({ plugin: plugin.id, environment: env });
  assert.deepEqual(listed.data.map((i) => i.installationId), [started.installationId]);
  const every = [];
  for await (const i of user.installations.list()) every.push(i.installationId);
  assert.ok(every.includes(started.installationId));
  await rejects(user.plugins.install(plugin.id, { environment: env, namespace: 'backstage-plugins' }), ConflictError);
  await rejects(user.installations.cancel(started), ConflictError);
  // The webhook subscribed to plugin.installed hears about it, signed.
  const [installed] = await requestsWhere((r) => r.headers['x-marketplace-event'] === 'plugin.installed'
    && r.body.includes(started.installationId));
  const installedPayload = await verifyWebhook({ secrets: [rotated.secret, secret], headers: installed.headers, body: installed.body });
  assert.equal(installedPayload.event, 'plugin.installed');
  assert.equal(installedPayload.data.installationId, started.installationId);

  const upgraded = await user.installations.upgrade(started, { version: '1.2.3' });
  assert.equal(upgraded.installationId, started.installationId);
  const afterUpgrade = await user.installations.wait(upgraded, { pollInterval: 200, timeout: 120_000 });
  assert.equal(afterUpgrade.status, 'completed');
  assert.equal(afterUpgrade.version, '1.2.3');
  await user.installations.uninstall(started);
  assert.equal((await user.installations.wait(started, { pollInterval: 200, timeout: 120_000 })).status, 'uninstalled');

  const toCancel = await installWhenKnown(user, plugin.id, { environment: unique('env') });
  try {
    const cancelled = await user.installations.cancel(toCancel);
    assert.ok(['cancelling', 'cancelled'].includes(cancelled.status));
    assert.equal((await user.installations.wait(toCancel, { pollInterval: 200, timeout: 120_000 })).status, 'cancelled');
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error; // it finished before the cancel arrived
    assert.equal((await user.installations.get(toCancel)).status, 'completed');
  }

  const envName = unique('env');
  assert.equal((await admin.environments.create({ name: envName, backstageVersion: '1.36.0', nodeVersion: '20.11.0' })).backstageVersion, '1.36.0');
  assert.equal((await admin.environments.update(envName, { backstageVersion: '1.37.0' })).backstageVersion, '1.37.0');
  assert.equal((await admin.environments.get(envName)).name, envName);
  const envs = [];
  for await (const e of admin.environments.list({ limit: 100 })) envs.push(e.name);
  assert.ok(envs.includes(envName));
  await rejects(user.environments.list(), ForbiddenError);
  checks.push('installations');

  // -- reviews --------------------------------------------------------------------------------------
  const author = await account('user');
  const voter = await account('user');
  const review = await waitFor(() => author.reviews.create(plugin.id, { rating: 4, title: 'Solid <b>plugin</b>', review: 'Works with our setup' })
    .catch((error) => {
      if (error instanceof PluginNotFoundError) return null;
      throw error;
    }), 'the review service to know the plugin');
  assert.equal(review.rating, 4);
  assert.equal(review.title, 'Solid <b>plugin</b>');
  await rejects(author.reviews.create(plugin.id, { rating: 5, title: 'Again' }), ConflictError);
  const badRating = await rejects(voter.reviews.create(plugin.id, { rating: 6, title: 'Too good' }), ValidationError);
  assert.ok('rating' in badRating.fields);
  assert.equal((await author.reviews.update(review.id, { rating: 5, title: 'Excellent' })).rating, 5);
  const reviews = await voter.reviews.list(plugin.id, { sort: 'recent' });
  assert.ok(reviews.data.some((r) => r.id === review.id) && reviews.total >= 1);
  assert.equal((await voter.reviews.get(review.id)).title, 'Excellent');
  assert.equal((await voter.reviews.helpful(review.id)).helpful, 1);
  await rejects(author.reviews.helpful(review.id), ForbiddenError);
  await rejects(voter.reviews.helpful(review.id), ConflictError);
  await voter.reviews.report(review.id, 'Looks like an advertisement');
  await admin.reviews.hide(review.id, 'checking');
  assert.ok(!(await voter.reviews.list(plugin.id)).data.some((r) => r.id === review.id));
  await admin.reviews.restore(review.id);
  assert.ok((await voter.reviews.list(plugin.id)).data.some((r) => r.id === review.id));
  await rejects(voter.reviews.delete(review.id), ForbiddenError);
  await author.reviews.delete(review.id);
  await rejects(voter.reviews.get(review.id), NotFoundError);
  await user.webhooks.delete(webhook.id);
  await rejects(user.webhooks.get(webhook.id), NotFoundError);
  checks.push('reviews');

  // -- the spec's example, verbatim -----------------------------------------------------------------
  // Plugin ids are generated, so 'plugin_123' names the plugin published above (monitoring, verified,
  // with a version 1.2.3); the install service already knows that version from the upgrade above.
  const spec = readFileSync(config.spec, 'utf8');
  const section = spec.slice(spec.indexOf('### JavaScript/TypeScript'));
  const code = /```typescript\n([\s\S]*?)```/.exec(section)[1];
  assert.ok(code.includes("new MarketplaceClient({") && code.includes("client.plugins.install('plugin_123'"));
  const example = code
    .replace("'YOUR_API_KEY'", JSON.stringify(user.key))
    .replace("'https://your-portal.com'", JSON.stringify(config.gatewayUrl))
    .replace("'plugin_123'", JSON.stringify(plugin.id));
  const examplePath = new URL('./spec-example.mjs', import.meta.url);
  writeFileSync(examplePath, `${example}\nexport { client, plugins, installation };\n`);
  const ran = await import(pathToFileURL(examplePath.pathname).href);
  assert.ok(ran.plugins.data.length && ran.plugins.data.every((p) => p.category === 'monitoring' && p.verified));
  assert.equal(ran.installation.pluginId, plugin.id);
  assert.equal(ran.installation.details.version, '1.2.3');
  assert.equal(ran.installation.details.environment, 'production');
  const final = await ran.client.installations.wait(ran.installation, { pollInterval: 200, timeout: 120_000 });
  assert.equal(final.status, 'completed', JSON.stringify(final));
  checks.push('spec-example');

  console.log(JSON.stringify({ ok: true, checks }));
} finally {
  receiver.closeAllConnections();
  receiver.close();
}
