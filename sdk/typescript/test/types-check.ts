// Compiled by `npm run typecheck` (never run): the spec's example and the typing of options and results.
import {
  MarketplaceClient,
  PluginNotFoundError,
  RateLimitError,
  verifyWebhook,
  type Installation,
  type Plugin,
} from '@backstage/marketplace-sdk';

export async function specExample(): Promise<void> {
  const client = new MarketplaceClient({
    apiKey: 'YOUR_API_KEY',
    baseUrl: 'https://your-portal.com'
  });

  // List plugins
  const plugins = await client.plugins.list({
    category: 'monitoring',
    verified: true
  });

  // Install a plugin
  const installation = await client.plugins.install('plugin_123', {
    version: '1.2.3',
    environment: 'production'
  });

  const first: Plugin | undefined = plugins.data[0];
  const name: string | undefined = first?.name;
  const id: string | undefined = installation.installationId;
  for await (const plugin of client.plugins.list({ sort: 'rating', order: 'desc' })) {
    const rating: number | undefined = plugin.rating?.average;
    void rating;
  }
  const done: Installation = await client.installations.wait(id!, { onProgress: (i) => i.progress?.percentage });
  void [name, done];

  // @ts-expect-error: not a sort the API knows
  client.plugins.list({ sort: 'stars' });
  // @ts-expect-error: environment is required
  client.plugins.install('plugin_123', { version: '1.2.3' });
  // @ts-expect-error: a rating is a number
  client.reviews.create('plugin_123', { rating: 'five' });

  try {
    await client.plugins.get('nope');
  } catch (error) {
    if (error instanceof PluginNotFoundError) void error.requestId;
    if (error instanceof RateLimitError) void error.retryAfter;
  }
  const payload = await verifyWebhook<{ event: string }>({ secret: 'whsec_x', headers: {}, body: '' });
  void payload.event;
}
