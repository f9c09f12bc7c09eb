package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"

	marketplace "github.com/backstage/marketplace-sdk-go"
)

func slug(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// npmPackage is a .tgz laid out like an npm package (package/package.json, package/dist/index.js).
func npmPackage(name, version string) []byte {
	manifest, _ := json.Marshal(map[string]string{"name": "@backstage-community/plugin-" + name, "version": version, "main": "dist/index.js"})
	files := []struct {
		name string
		data []byte
	}{{"package/package.json", manifest}, {"package/dist/index.js", []byte(fmt.Sprintf("export const plugin = { id: '%s' };\n", name))}}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg})
		_, _ = tw.Write(f.data)
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// pngIcon is a small solid-colour PNG.
func pngIcon(seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := 0; x < 16; x++ {
		for y := 0; y < 16; y++ {
			img.Set(x, y, color.RGBA{R: 40 + seed*30, G: 120, B: 200 - seed*20, A: 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func versionMetadata(version string) *marketplace.VersionMetadata {
	return &marketplace.VersionMetadata{Version: version, Changelog: "Release " + version,
		Compatibility: &marketplace.CompatibilityDoc{Backstage: "^1.30.0", Node: ">=18.0.0", Platform: []string{"linux"}}}
}

// eventually calls fn until it returns true or the timeout passes.
func eventually(timeout time.Duration, what string, fn func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := fn()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func expect(ok bool, format string, args ...interface{}) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
