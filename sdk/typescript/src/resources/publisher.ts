/** `client.publisher`: create and maintain plugins, upload versions with their package, images. */

import type { RequestOptions } from '../client.js';
import type { DataOf, DeprecateRequest, JsonObject, PluginCreate, PluginDetails, PluginUpdate, PluginVersion } from '../types.js';
import { seg } from '../util.js';
import { Resource } from './base.js';

/** File contents: a `Blob`/`File`, bytes (`Buffer`, `Uint8Array`, `ArrayBuffer`), a web stream or a Node stream. */
export type FileData = Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** A file to upload: its contents, or `{ name, data, type? }` to give it a file name and a media type. */
export type FileInput = FileData | { name: string; data: FileData; type?: string };

/** `metadata` of a version: `version` (required), `changelog`, `compatibility`, `dependencies`, `configuration`, `permissions`. */
export type VersionMetadata = { version: string } & JsonObject;

function contentType(name: string): string {
  const lowered = name.toLowerCase();
  if (lowered.endsWith('.tgz') || lowered.endsWith('.tar.gz')) return 'application/gzip';
  if (lowered.endsWith('.zip')) return 'application/zip';
  if (lowered.endsWith('.jar')) return 'application/java-archive';
  if (lowered.endsWith('.png')) return 'image/png';
  if (lowered.endsWith('.jpg') || lowered.endsWith('.jpeg')) return 'image/jpeg';
  if (lowered.endsWith('.gif')) return 'image/gif';
  if (lowered.endsWith('.webp')) return 'image/webp';
  return 'application/octet-stream';
}

function isNamed(value: FileInput): value is { name: string; data: FileData; type?: string } {
  return typeof value === 'object' && value !== null && 'data' in value && typeof (value as { name?: unknown }).name === 'string'
    && !(typeof Blob !== 'undefined' && value instanceof Blob);
}

/** The contents as a Blob; streams are read to their end (a multipart body must know its parts). */
async function toBlob(data: FileData, type: string): Promise<Blob> {
  if (data instanceof Blob) return data.type ? data : new Blob([data], { type });
  if (data instanceof ArrayBuffer) return new Blob([data], { type });
  if (ArrayBuffer.isView(data)) {
    return new Blob([new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()], { type });
  }
  const chunks: BlobPart[] = [];
  if (typeof (data as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (data as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.slice());
    }
  } else {
    for await (const chunk of data as AsyncIterable<Uint8Array | string>) {
      chunks.push(typeof chunk === 'string' ? chunk : chunk.slice());
    }
  }
  return new Blob(chunks, { type });
}

async function appendFile(form: FormData, field: string, input: FileInput, defaultName: string): Promise<void> {
  const named = isNamed(input);
  const fromFile = !named && typeof File !== 'undefined' && input instanceof File ? input.name : undefined;
  const name = named ? input.name : fromFile || defaultName;
  const type = (named ? input.type : undefined) ?? contentType(name);
  form.append(field, await toBlob(named ? input.data : (input as FileData), type), name);
}

export class PublisherResource extends Resource {
  /** `POST /plugins`: a new plugin; it appears in the public catalog once it has a version. */
  createPlugin(body: PluginCreate, options?: RequestOptions): Promise<DataOf<'/plugins', 'post'>> {
    return this._data('POST', '/plugins', { json: body, ...options });
  }

  /** `PATCH /plugins/{pluginId}`: change metadata (admins also set `verified` and `featured`). */
  updatePlugin(pluginId: string, body: PluginUpdate, options?: RequestOptions): Promise<PluginDetails> {
    return this._data('PATCH', `/plugins/${seg(pluginId)}`, { json: body, ...options });
  }

  /** `POST /plugins/{pluginId}/versions`: upload a package (`.tgz`, `.zip`, `.jar`) with its metadata. */
  async publishVersion(pluginId: string, pkg: FileInput, metadata: VersionMetadata, options?: RequestOptions): Promise<PluginVersion> {
    const form = new FormData();
    form.append('metadata', JSON.stringify(metadata));
    await appendFile(form, 'package', pkg, 'package.tgz');
    return this._data('POST', `/plugins/${seg(pluginId)}/versions`, { body: form, ...options });
  }

  /** `POST /plugins/{pluginId}/images`: an icon and/or screenshots (PNG, JPEG, GIF or WebP). */
  async uploadImages(pluginId: string, images: { icon?: FileInput; screenshots?: FileInput[] },
    options?: RequestOptions): Promise<JsonObject> {
    const form = new FormData();
    if (images.icon !== undefined) await appendFile(form, 'icon', images.icon, 'icon.png');
    let index = 0;
    for (const shot of images.screenshots ?? []) {
      index += 1;
      await appendFile(form, 'screenshots', shot, `screenshot${index}.png`);
    }
    if (!index && images.icon === undefined) throw new TypeError('give an icon and/or screenshots');
    return this._data('POST', `/plugins/${seg(pluginId)}/images`, { body: form, ...options });
  }

  /** `DELETE /plugins/{pluginId}/images/{name}`: remove the icon or a screenshot. */
  async deleteImage(pluginId: string, name: string, options?: RequestOptions): Promise<void> {
    await this._client.request({ method: 'DELETE', path: `/plugins/${seg(pluginId)}/images/${seg(name)}`, ...options });
  }

  /** `POST /plugins/{pluginId}/versions/{version}/yank`: stays visible with the reason, cannot be installed. */
  yank(pluginId: string, version: string, reason?: string, options?: RequestOptions): Promise<PluginVersion> {
    return this._data('POST', `/plugins/${seg(pluginId)}/versions/${seg(version)}/yank`, {
      json: reason === undefined ? {} : { reason }, ...options,
    });
  }

  /** `POST /plugins/{pluginId}/deprecate`: mark it deprecated, optionally naming its replacement. */
  deprecate(pluginId: string, body: DeprecateRequest, options?: RequestOptions): Promise<DataOf<'/plugins/{plugin_id}/deprecate', 'post'>> {
    return this._data('POST', `/plugins/${seg(pluginId)}/deprecate`, { json: body, ...options });
  }

  /** `POST /plugins/{pluginId}/unpublish`: hide it from the public catalog. */
  unpublish(pluginId: string, options?: RequestOptions): Promise<DataOf<'/plugins/{plugin_id}/unpublish', 'post'>> {
    return this._data('POST', `/plugins/${seg(pluginId)}/unpublish`, options);
  }

  /** `POST /plugins/{pluginId}/publish`: show an unpublished plugin again. */
  publish(pluginId: string, options?: RequestOptions): Promise<DataOf<'/plugins/{plugin_id}/publish', 'post'>> {
    return this._data('POST', `/plugins/${seg(pluginId)}/publish`, options);
  }
}
