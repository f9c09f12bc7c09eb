package marketplace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pagedPlugins serves total plugins, limit per page, like GET /plugins.
func pagedPlugins(t *testing.T, mux *http.ServeMux, total int) {
	mux.HandleFunc("/api/marketplace/v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if page == 0 {
			page = 1
		}
		if limit == 0 {
			limit = 20
		}
		var data []map[string]interface{}
		for i := (page - 1) * limit; i < page*limit && i < total; i++ {
			data = append(data, map[string]interface{}{"id": fmt.Sprintf("plugin_%d", i)})
		}
		pages := (total + limit - 1) / limit
		writeJSON(w, 200, map[string]interface{}{"data": data, "pagination": map[string]interface{}{
			"page": page, "limit": limit, "total": total, "totalPages": pages, "hasNextPage": page < pages, "hasPrevPage": page > 1}})
	})
}

func TestListAllWalksEveryPage(t *testing.T) {
	client, mux, _ := setup(t)
	pagedPlugins(t, mux, 7)
	var ids []string
	err := client.Plugins.ListAll(context.Background(), &ListOptions{Limit: 3}, func(p PluginSummaryDoc) error {
		ids = append(ids, p.ID)
		return nil
	})
	if err != nil || len(ids) != 7 || ids[0] != "plugin_0" || ids[6] != "plugin_6" {
		t.Fatalf("ids %v, err %v", ids, err)
	}

	pager := client.Plugins.ListPager(context.Background(), &ListOptions{Limit: 2})
	count, pages := 0, map[int]bool{}
	for pager.Next() {
		if want := fmt.Sprintf("plugin_%d", count); pager.Value().ID != want {
			t.Fatalf("item %d = %s", count, pager.Value().ID)
		}
		pages[pager.Page()] = true
		count++
	}
	if pager.Err() != nil || count != 7 || len(pages) != 4 {
		t.Fatalf("count %d pages %v err %v", count, pages, pager.Err())
	}

	stop := errors.New("stop")
	seen := 0
	err = client.Plugins.ListAll(context.Background(), &ListOptions{Limit: 2}, func(PluginSummaryDoc) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Fatalf("callback error not returned: %v after %d", err, seen)
	}
}

func TestPagerReportsAnErrorMidway(t *testing.T) {
	client, mux, _ := setup(t, WithRetries(0))
	mux.HandleFunc("/api/marketplace/v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeError(w, 500, "INTERNAL_ERROR", "boom")
			return
		}
		writeJSON(w, 200, map[string]interface{}{"data": []map[string]interface{}{{"id": "wh_1"}},
			"pagination": map[string]interface{}{"page": 1, "totalPages": 2, "hasNextPage": true}})
	})
	pager := client.Webhooks.ListPager(context.Background(), &PageOptions{Limit: 1})
	n := 0
	for pager.Next() {
		n++
	}
	if n != 1 || !IsServerError(pager.Err()) {
		t.Fatalf("n %d, err %v", n, pager.Err())
	}
}

func TestPagersAskForAHundredAtATimeFromTheGivenPageAndLeaveOptsAlone(t *testing.T) {
	client, mux, _ := setup(t)
	var queries []string
	mux.HandleFunc("/api/marketplace/v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		writeJSON(w, 200, map[string]interface{}{"data": []map[string]interface{}{{"id": "wh_" + r.URL.Query().Get("page")}},
			"pagination": map[string]interface{}{"hasNextPage": r.URL.Query().Get("page") == "2"}})
	})
	opts := &PageOptions{Page: 2}
	pager := client.Webhooks.ListPager(context.Background(), opts)
	var ids []string
	for pager.Next() {
		ids = append(ids, pager.Value().ID)
	}
	want := []string{"limit=100&page=2", "limit=100&page=3"}
	if pager.Err() != nil || fmt.Sprint(ids) != "[wh_2 wh_3]" || fmt.Sprint(queries) != fmt.Sprint(want) {
		t.Fatalf("ids %v queries %v err %v", ids, queries, pager.Err())
	}
	if *opts != (PageOptions{Page: 2}) {
		t.Fatalf("opts changed: %+v", *opts)
	}
}

func TestWaitFollowsAnInstallationWithProgressAndLogs(t *testing.T) {
	client, mux, waits := setup(t)
	var polls int32
	mux.HandleFunc("/api/marketplace/v1/installations/inst_1", func(w http.ResponseWriter, r *http.Request) {
		n := atomic.AddInt32(&polls, 1)
		status, pct := "in_progress", int(n)*30
		if n >= 3 {
			status, pct = "completed", 100
		}
		writeJSON(w, 200, map[string]interface{}{"data": map[string]interface{}{"installationId": "inst_1", "status": status,
			"progress": map[string]interface{}{"percentage": pct, "current": n, "total": 3}}})
	})
	mux.HandleFunc("/api/marketplace/v1/installations/inst_1/logs", func(w http.ResponseWriter, r *http.Request) {
		cursor := r.URL.Query().Get("cursor")
		n, _ := strconv.Atoi(cursor)
		upTo := int(atomic.LoadInt32(&polls)) * 2 // two new lines per poll
		var lines []map[string]interface{}
		for i := n; i < upTo; i++ {
			lines = append(lines, map[string]interface{}{"id": fmt.Sprint(i), "message": fmt.Sprintf("line %d", i)})
		}
		writeJSON(w, 200, map[string]interface{}{"data": lines, "pagination": map[string]interface{}{"nextCursor": fmt.Sprint(upTo), "hasMore": false}})
	})
	var statuses []int
	var lines []string
	done, err := client.Installations.Wait(context.Background(), "inst_1", &WaitOptions{
		OnProgress: func(i *Installation) { statuses = append(statuses, i.Progress.Percentage) },
		OnLog:      func(l LogLine) { lines = append(lines, l.ID) },
	})
	if err != nil || done.Status != "completed" {
		t.Fatalf("done %+v err %v", done, err)
	}
	if fmt.Sprint(statuses) != "[30 60 100]" || strings.Join(lines, ",") != "0,1,2,3,4,5" || len(*waits) != 2 {
		t.Fatalf("progress %v, lines %v, waits %v", statuses, lines, *waits)
	}
}

func TestWaitStopsWithTheContext(t *testing.T) {
	client, mux, _ := setup(t)
	mux.HandleFunc("/api/marketplace/v1/installations/inst_2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]interface{}{"data": map[string]interface{}{"installationId": "inst_2", "status": "pending"}})
	})
	ctx, cancel := context.WithCancel(context.Background())
	client.sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	last, err := client.Installations.Wait(ctx, "inst_2", nil)
	if !errors.Is(err, context.Canceled) || last == nil || last.Status != "pending" {
		t.Fatalf("last %+v, err %v", last, err)
	}
}

func TestDownloadChecksTheSHA256(t *testing.T) {
	client, mux, _ := setup(t)
	content := []byte("a package's bytes")
	sum := sha256.Sum256(content)
	integrity := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	mux.HandleFunc("/api/marketplace/v1/plugins/p1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]interface{}{"data": map[string]interface{}{"id": "p1", "version": "1.2.3"}})
	})
	mux.HandleFunc("/api/marketplace/v1/plugins/p1/versions/1.2.3/package", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Integrity", integrity)
		w.Header().Set("Content-Disposition", `attachment; filename="p1-1.2.3.tgz"`)
		_, _ = w.Write(content)
	})
	mux.HandleFunc("/api/marketplace/v1/plugins/p1/versions/0.0.1/package", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Integrity", integrity)
		_, _ = w.Write([]byte("tampered"))
	})
	var buf bytes.Buffer
	got, err := client.Plugins.Download("p1", "", &buf)
	if err != nil || got.Version != "1.2.3" || got.Integrity != integrity || got.Size != int64(len(content)) ||
		!bytes.Equal(buf.Bytes(), content) || got.FileName != "p1-1.2.3.tgz" {
		t.Fatalf("download %+v err %v", got, err)
	}
	if _, err := client.Plugins.Download("p1", "0.0.1", io.Discard); !errors.Is(err, ErrIntegrityMismatch) {
		t.Fatalf("tampered download err = %v", err)
	}
}

func TestUploadVersionStreamsMultipart(t *testing.T) {
	client, mux, _ := setup(t)
	var calls int32
	mux.HandleFunc("/api/marketplace/v1/plugins/p1/versions", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&calls, 1)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("multipart: %v", err)
		}
		var meta VersionMetadata
		_ = json.Unmarshal([]byte(r.FormValue("metadata")), &meta)
		file, header, err := r.FormFile("package")
		if err != nil {
			t.Errorf("package part: %v", err)
			return
		}
		data, _ := io.ReadAll(file)
		if meta.Version != "1.0.0" || string(data) != "tgz bytes" || header.Filename != "p1.tgz" ||
			header.Header.Get("Content-Type") != "application/gzip" {
			t.Errorf("meta %+v data %q header %+v", meta, data, header.Header)
		}
		writeJSON(w, 201, map[string]interface{}{"data": map[string]interface{}{"version": "1.0.0",
			"package": map[string]interface{}{"size": 9}}})
	})
	version, err := client.Publisher.UploadVersion("p1", &VersionMetadata{Version: "1.0.0"},
		File{Name: "p1.tgz", Reader: strings.NewReader("tgz bytes")})
	if err != nil || version.Version != "1.0.0" || version.Package.Size == nil || *version.Package.Size != 9 || atomic.LoadInt32(&calls) != 1 {
		t.Fatalf("version %+v err %v", version, err)
	}
}

func TestUploadPartsAreTypedByTheirFilesExtension(t *testing.T) {
	for name, want := range map[string]string{
		"p.tgz": "application/gzip", "P.TAR.GZ": "application/gzip", "p.zip": "application/zip", "p.jar": "application/java-archive",
		"icon.PNG": "image/png", "a.jpg": "image/jpeg", "a.jpeg": "image/jpeg", "a.gif": "image/gif", "a.webp": "image/webp",
		"p.gz": "application/octet-stream", "README": "application/octet-stream",
	} {
		if got := contentTypeOf(name); got != want {
			t.Errorf("contentTypeOf(%q) = %q, want %q", name, got, want)
		}
	}
}
