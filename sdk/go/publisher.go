package marketplace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"path"
	"strings"
)

// PublisherService publishes and manages plugins (client.Publisher; publisher or admin keys, and
// only the owner or an admin may change a plugin).
type PublisherService struct{ client *Client }

func pluginPath(id string) string { return "/plugins/" + seg(id) }

// CreatePlugin is CreatePluginContext with context.Background().
func (s *PublisherService) CreatePlugin(plugin *PluginCreate) (*Plugin, error) {
	return s.CreatePluginContext(context.Background(), plugin)
}

// CreatePluginContext creates a plugin from its metadata (POST /plugins). It appears in the public
// catalog once it has a version.
func (s *PublisherService) CreatePluginContext(ctx context.Context, plugin *PluginCreate) (*Plugin, error) {
	out := &Plugin{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: "/plugins", body: plugin}, out)
	return finish(out, &out.Response, resp, err)
}

// UpdatePlugin is UpdatePluginContext with context.Background().
func (s *PublisherService) UpdatePlugin(pluginID string, changes *PluginUpdate) (*Plugin, error) {
	return s.UpdatePluginContext(context.Background(), pluginID, changes)
}

// UpdatePluginContext changes a plugin's metadata (admins also set Verified and Featured).
func (s *PublisherService) UpdatePluginContext(ctx context.Context, pluginID string, changes *PluginUpdate) (*Plugin, error) {
	out := &Plugin{}
	resp, err := s.client.getData(ctx, &request{method: "PATCH", path: pluginPath(pluginID), body: changes}, out)
	return finish(out, &out.Response, resp, err)
}

// VersionMetadata is the metadata part of a version upload.
type VersionMetadata struct {
	// Version is a semantic version (required).
	Version       string                   `json:"version"`
	Changelog     string                   `json:"changelog,omitempty"`
	Compatibility *CompatibilityDoc        `json:"compatibility,omitempty"`
	Dependencies  []map[string]interface{} `json:"dependencies,omitempty"`
	// Configuration holds "schema" (a JSON Schema), "defaults" and "examples".
	Configuration map[string]interface{} `json:"configuration,omitempty"`
	Permissions   []string               `json:"permissions,omitempty"`
}

// File is a file to upload: its name (the extension tells the type) and its content.
type File struct {
	Name   string
	Reader io.Reader
}

// UploadVersion is UploadVersionContext with context.Background().
func (s *PublisherService) UploadVersion(pluginID string, metadata *VersionMetadata, pkg File) (*Version, error) {
	return s.UploadVersionContext(context.Background(), pluginID, metadata, pkg)
}

// UploadVersionContext uploads a version (POST /plugins/{pluginId}/versions, multipart): its
// metadata and its package (.tgz, .zip or .jar), streamed from pkg.Reader. An upload is never
// retried (its reader cannot be read twice).
func (s *PublisherService) UploadVersionContext(ctx context.Context, pluginID string, metadata *VersionMetadata, pkg File) (*Version, error) {
	meta, err := json.Marshal(metadata)
	if err != nil {
		return nil, err
	}
	if pkg.Name == "" {
		pkg.Name = "package.tgz"
	}
	parts := []multipartPart{{field: "metadata", value: meta}, {field: "package", file: pkg}}
	out := &Version{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: pluginPath(pluginID) + "/versions", streamBody: multipartBody(parts)}, out)
	return finish(out, &out.Response, resp, err)
}

// UploadImages is UploadImagesContext with context.Background().
func (s *PublisherService) UploadImages(pluginID string, icon *File, screenshots ...File) (*Images, error) {
	return s.UploadImagesContext(context.Background(), pluginID, icon, screenshots...)
}

// UploadImagesContext uploads an icon and/or screenshots (PNG, JPEG, GIF or WebP) of a plugin.
func (s *PublisherService) UploadImagesContext(ctx context.Context, pluginID string, icon *File, screenshots ...File) (*Images, error) {
	var parts []multipartPart
	if icon != nil {
		parts = append(parts, multipartPart{field: "icon", file: *icon})
	}
	for _, shot := range screenshots {
		parts = append(parts, multipartPart{field: "screenshots", file: shot})
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("marketplace: give an icon and/or screenshots")
	}
	out := &Images{}
	resp, err := s.client.do(ctx, &request{method: "POST", path: pluginPath(pluginID) + "/images", streamBody: multipartBody(parts)}, out)
	return finish(out, &out.Response, resp, err)
}

// DeleteImage is DeleteImageContext with context.Background().
func (s *PublisherService) DeleteImage(pluginID, name string) (*Response, error) {
	return s.DeleteImageContext(context.Background(), pluginID, name)
}

// DeleteImageContext removes an icon or a screenshot.
func (s *PublisherService) DeleteImageContext(ctx context.Context, pluginID, name string) (*Response, error) {
	return s.client.do(ctx, &request{method: "DELETE", path: pluginPath(pluginID) + "/images/" + seg(name)}, nil)
}

// Publish is PublishContext with context.Background().
func (s *PublisherService) Publish(pluginID string) (*Plugin, error) {
	return s.PublishContext(context.Background(), pluginID)
}

// PublishContext shows an unpublished plugin again.
func (s *PublisherService) PublishContext(ctx context.Context, pluginID string) (*Plugin, error) {
	return s.pluginAction(ctx, pluginID, "publish", nil)
}

// Unpublish is UnpublishContext with context.Background().
func (s *PublisherService) Unpublish(pluginID string) (*Plugin, error) {
	return s.UnpublishContext(context.Background(), pluginID)
}

// UnpublishContext hides a plugin from the public catalog.
func (s *PublisherService) UnpublishContext(ctx context.Context, pluginID string) (*Plugin, error) {
	return s.pluginAction(ctx, pluginID, "unpublish", nil)
}

// Deprecate is DeprecateContext with context.Background().
func (s *PublisherService) Deprecate(pluginID, reason, replacement string) (*Plugin, error) {
	return s.DeprecateContext(context.Background(), pluginID, reason, replacement)
}

// DeprecateContext marks a plugin deprecated, optionally naming its replacement.
func (s *PublisherService) DeprecateContext(ctx context.Context, pluginID, reason, replacement string) (*Plugin, error) {
	return s.pluginAction(ctx, pluginID, "deprecate", Deprecate{Reason: reason, Replacement: replacement})
}

func (s *PublisherService) pluginAction(ctx context.Context, pluginID, action string, body interface{}) (*Plugin, error) {
	out := &Plugin{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: pluginPath(pluginID) + "/" + action, body: body}, out)
	return finish(out, &out.Response, resp, err)
}

// Yank is YankContext with context.Background().
func (s *PublisherService) Yank(pluginID, version, reason string) (*Version, error) {
	return s.YankContext(context.Background(), pluginID, version, reason)
}

// YankContext withdraws a version: it stays visible with the reason but can no longer be installed.
func (s *PublisherService) YankContext(ctx context.Context, pluginID, version, reason string) (*Version, error) {
	out := &Version{}
	resp, err := s.client.getData(ctx, &request{method: "POST", path: pluginPath(pluginID) + "/versions/" + seg(version) + "/yank", body: Reason{Reason: reason}}, out)
	return finish(out, &out.Response, resp, err)
}

type multipartPart struct {
	field string
	value []byte // a plain field
	file  File   // or a file
}

// multipartBody streams the parts through a pipe, so a package is never held in memory.
func multipartBody(parts []multipartPart) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		reader, writer := io.Pipe()
		form := multipart.NewWriter(writer)
		go func() {
			err := writeParts(form, parts)
			if err == nil {
				err = form.Close()
			}
			writer.CloseWithError(err)
		}()
		return reader, form.FormDataContentType(), nil
	}
}

func writeParts(form *multipart.Writer, parts []multipartPart) error {
	for _, part := range parts {
		if part.file.Reader == nil {
			if err := form.WriteField(part.field, string(part.value)); err != nil {
				return err
			}
			continue
		}
		header := textproto.MIMEHeader{}
		name := path.Base(strings.ReplaceAll(part.file.Name, "\\", "/"))
		header.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, part.field, name))
		header.Set("Content-Type", contentTypeOf(name))
		w, err := form.CreatePart(header)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, part.file.Reader); err != nil {
			return err
		}
	}
	return nil
}

// contentTypes are the types a part is sent with, by the end of its file's name (compared in lower case).
var contentTypes = []struct{ suffix, mediaType string }{
	{".tgz", "application/gzip"}, {".tar.gz", "application/gzip"},
	{".zip", "application/zip"}, {".jar", "application/java-archive"},
	{".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
	{".gif", "image/gif"}, {".webp", "image/webp"},
}

func contentTypeOf(name string) string {
	lower := strings.ToLower(name)
	for _, known := range contentTypes {
		if strings.HasSuffix(lower, known.suffix) {
			return known.mediaType
		}
	}
	return "application/octet-stream"
}
