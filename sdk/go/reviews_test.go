package marketplace

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

func TestMineAsksForTheCallersOwnReview(t *testing.T) {
	client, mux, _ := setup(t)
	mux.HandleFunc("/api/marketplace/v1/plugins/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var data []map[string]interface{}
		if r.URL.Path == "/api/marketplace/v1/plugins/p/reviews" && q.Get("mine") == "true" && q.Get("limit") == "1" {
			data = append(data, map[string]interface{}{"id": "review_7", "hidden": true})
		}
		writeJSON(w, 200, map[string]interface{}{"data": data, "pagination": map[string]interface{}{"total": len(data)}})
	})
	mine, err := client.Reviews.Mine("p")
	if err != nil || mine == nil || mine.ID != "review_7" || !mine.Hidden || mine.Response == nil {
		t.Fatalf("mine %+v, err %v", mine, err)
	}
	none, err := client.Reviews.Mine("q")
	if err != nil || none != nil {
		t.Fatalf("none %+v, err %v", none, err)
	}
}

func TestModerationPagesTheQueueWithItsFilters(t *testing.T) {
	client, mux, _ := setup(t)
	var queries []string
	mux.HandleFunc("/api/marketplace/v1/reviews", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		queries = append(queries, q.Get("status")+"/"+q.Get("pluginId")+"/"+q.Get("sort"))
		page, _ := strconv.Atoi(q.Get("page"))
		if page == 0 {
			page = 1
		}
		var data []map[string]interface{}
		for i := (page - 1) * 2; i < page*2 && i < 5; i++ {
			data = append(data, map[string]interface{}{"id": fmt.Sprintf("review_%d", i),
				"plugin": map[string]interface{}{"id": "plugin_1", "name": "p1"}})
		}
		writeJSON(w, 200, map[string]interface{}{"data": data, "pagination": map[string]interface{}{
			"page": page, "limit": 2, "total": 5, "totalPages": 3, "hasNextPage": page < 3, "hasPrevPage": page > 1}})
	})
	first, err := client.Reviews.Moderation(&ModerationListOptions{Status: "reported", PluginID: "p1", Sort: "reports", Limit: 2})
	if err != nil || len(first.Data) != 2 || first.Data[0].Plugin == nil || first.Data[0].Plugin.Name != "p1" {
		t.Fatalf("first %+v, err %v", first, err)
	}
	pager := client.Reviews.ModerationPager(context.Background(), &ModerationListOptions{Status: "hidden", Limit: 2})
	count := 0
	for pager.Next() {
		count++
	}
	if pager.Err() != nil || count != 5 {
		t.Fatalf("count %d, err %v", count, pager.Err())
	}
	if queries[0] != "reported/p1/reports" || queries[1] != "hidden//" || len(queries) != 4 {
		t.Fatalf("queries %v", queries)
	}
}
