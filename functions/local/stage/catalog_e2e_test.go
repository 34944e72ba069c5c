package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/local/stagetest"
)

var st *stage.Stage

func TestMain(m *testing.M) {
	os.Exit(stagetest.MainCheckingGrants(m, stage.Options{Seed: true, DynamoDBClient: beforeOrderTransactions}, &st))
}

func TestHealth(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	r := c.Do(t, "GET", "/health", nil)
	r.Expect(t, 200, "")
	if strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
		t.Errorf("body %s", r.Body)
	}
}

func TestProductReadMissThenHit(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	first := c.Do(t, "GET", "/products/kitchen-03", nil)
	first.Expect(t, 200, "")
	second := c.Do(t, "GET", "/products/kitchen-03", nil)
	second.Expect(t, 200, "")
	if a, b := first.Header.Get("X-Cache"), second.Header.Get("X-Cache"); a != "miss" || b != "hit" {
		t.Errorf("X-Cache %q then %q, want miss then hit", a, b)
	}
	if string(first.Body) != string(second.Body) {
		t.Errorf("cached document differs:\n%s\n%s", first.Body, second.Body)
	}
	var p catalog.Product
	second.JSON(t, &p)
	if p.ProductID != "kitchen-03" || p.Category != "kitchen" || p.Stock <= 0 || p.Currency != "USD" {
		t.Errorf("product %+v", p)
	}
	if ct := second.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

// Listing a category page by page returns each of its products once, and only those.
func TestListCategoryWithCursor(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		q := url.Values{"category": {"toys"}, "limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := c.Do(t, "GET", "/products?"+q.Encode(), nil)
		r.Expect(t, 200, "")
		var page struct {
			Items      []catalog.Product `json:"items"`
			NextCursor *string           `json:"nextCursor"`
		}
		r.JSON(t, &page)
		pages++
		if len(page.Items) > 3 {
			t.Fatalf("page of %d items with limit 3", len(page.Items))
		}
		for _, p := range page.Items {
			if p.Category != "toys" || seen[p.ProductID] {
				t.Fatalf("unexpected or repeated product %s (%s)", p.ProductID, p.Category)
			}
			seen[p.ProductID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != stage.SeedPerCategory {
		t.Errorf("listed %d toys, want %d", len(seen), stage.SeedPerCategory)
	}

	// Without a category the whole catalog is listed.
	r := c.Do(t, "GET", "/products?limit=100", nil)
	r.Expect(t, 200, "")
	var all struct{ Items []catalog.Product }
	r.JSON(t, &all)
	if len(all.Items) < 50 {
		t.Errorf("listed %d products, want the whole sample catalog", len(all.Items))
	}
}

func TestCatalogBadInput(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	r := c.Do(t, "GET", "/products?category=books&limit=1", nil)
	var page struct{ NextCursor string }
	r.JSON(t, &page)
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"limit zero", "/products?limit=0", 400, "invalid_request"},
		{"limit too big", "/products?limit=101", 400, "invalid_request"},
		{"limit not a number", "/products?limit=ten", 400, "invalid_request"},
		{"limit negative", "/products?limit=-1", 400, "invalid_request"},
		{"cursor garbage", "/products?cursor=not*base64", 400, "invalid_request"},
		{"cursor not ours", "/products?cursor=eyJ4IjoieSJ9", 400, "invalid_request"},
		{"cursor of another list", "/products?category=toys&cursor=" + page.NextCursor, 400, "invalid_request"},
		{"category cursor without category", "/products?cursor=" + page.NextCursor, 400, "invalid_request"},
		{"bad category", "/products?category=Books!", 400, "invalid_request"},
		{"unknown id", "/products/no-such-product", 404, "not_found"},
		{"id too long", "/products/" + strings.Repeat("a", 65), 400, "invalid_request"},
		{"id with dots", "/products/..%2f..%2fetc", 400, "invalid_request"},
		{"id with space", "/products/a%20b", 400, "invalid_request"},
		{"unknown route", "/products/books-01/nothing-here", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, "GET", tc.path, nil)
			r.Expect(t, tc.status, tc.code)
		})
	}
	// An unknown product is remembered briefly, and still 404 when served from the cache.
	c.Do(t, "GET", "/products/no-such-product", nil).Expect(t, 404, "not_found")
}

// With Redis stopped, reads are served from DynamoDB (200, X-Cache: miss); when Redis is back,
// the cache fills again.
func TestReadsSurviveRedisOutage(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	c.Do(t, "GET", "/products/garden-05", nil).Expect(t, 200, "")
	st.Servers.Redis.Stop()

	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Do(t, "GET", fmt.Sprintf("/products/garden-%02d", i%10+1), nil)
			if r.Status != http.StatusOK || r.Header.Get("X-Cache") != "miss" {
				errs <- fmt.Sprintf("status %d X-Cache %q: %s", r.Status, r.Header.Get("X-Cache"), r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("during the outage:", e)
	}

	if err := st.Servers.RestartRedis(context.Background()); err != nil {
		t.Fatal(err)
	}
	// After the breaker's pause, a miss fills the cache again and the next read hits.
	awaitCacheHit(t, "the cache never filled again after Redis came back", func() *stagetest.Response {
		r := c.Do(t, "GET", "/products/garden-05", nil)
		r.Expect(t, 200, "")
		return r
	})
}
