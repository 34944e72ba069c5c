package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

type reviewPage struct {
	Items      []reviews.Review `json:"items"`
	NextCursor *string          `json:"nextCursor"`
}

func listReviews(t *testing.T, productID string, query url.Values) (reviewPage, *stagetest.Response) {
	t.Helper()
	path := "/products/" + productID + "/reviews"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	r := anonymous().Do(t, "GET", path, nil)
	r.Expect(t, http.StatusOK, "")
	var page reviewPage
	r.JSON(t, &page)
	return page, r
}

func storedReviews(t *testing.T, productID string) int {
	t.Helper()
	table, _ := st.Admin.Config.Table(tables.Reviews)
	out, err := st.Admin.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(table), KeyConditionExpression: aws.String("productId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: productID}},
		Select:                    types.SelectCount, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func TestReviewsNewestFirstWithCursors(t *testing.T) {
	waitForCache(t)
	p := createProduct(t, "reviewed")
	page, r := listReviews(t, p.ProductID, nil)
	if len(page.Items) != 0 || page.NextCursor != nil || !strings.Contains(string(r.Body), `"items":[]`) {
		t.Fatalf("empty list: %s", r.Body)
	}

	const n = 7
	shopper := shopperClient(t)
	var written []reviews.Review
	for i := range n {
		r := shopper.Do(t, "POST", "/products/"+p.ProductID+"/reviews",
			map[string]any{"rating": i%5 + 1, "title": fmt.Sprintf("Review %d", i), "body": "Line one.\nLine two."})
		r.Expect(t, http.StatusCreated, "")
		var rv reviews.Review
		r.JSON(t, &rv)
		if u, err := uuid.Parse(rv.ReviewID); err != nil || u.Version() != 7 || rv.ProductID != p.ProductID ||
			rv.UserID != "sam" || rv.Rating != i%5+1 || rv.Body != "Line one.\nLine two." || rv.CreatedAt == "" {
			t.Fatalf("review %s", r.Body)
		}
		written = append(written, rv)
	}

	// Pages of 3: 3, 3, 1, newest first, each review once, the last page says it is the last.
	var got []reviews.Review
	cursor := ""
	for pages := 0; ; pages++ {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, _ := listReviews(t, p.ProductID, q)
		got = append(got, page.Items...)
		if page.NextCursor == nil {
			break
		}
		if pages > n {
			t.Fatal("pagination does not end")
		}
		cursor = *page.NextCursor
	}
	if len(got) != n {
		t.Fatalf("listed %d reviews, want %d", len(got), n)
	}
	for i, rv := range got {
		if want := written[n-1-i]; rv.ReviewID != want.ReviewID {
			t.Errorf("position %d: %s (%s), want %s (%s)", i, rv.Title, rv.CreatedAt, want.Title, want.CreatedAt)
		}
	}

	// The default first page is cached (limit=20 is the same page), and a new review evicts it.
	_, first := listReviews(t, p.ProductID, nil)
	if first.Header.Get("X-Cache") == "" {
		t.Errorf("first page without X-Cache")
	}
	awaitCacheHit(t, "the first page is never served from the cache", func() *stagetest.Response {
		_, second := listReviews(t, p.ProductID, url.Values{"limit": {"20"}})
		return second
	})
	if _, r := listReviews(t, p.ProductID, url.Values{"limit": {"3"}}); r.Header.Get("X-Cache") != "" {
		t.Errorf("a page of another size came from the first page's cache")
	}
	shopper.Do(t, "POST", "/products/"+p.ProductID+"/reviews", map[string]any{"rating": 5, "title": "Newest"}).Expect(t, 201, "")
	page, r = listReviews(t, p.ProductID, nil)
	if r.Header.Get("X-Cache") != "miss" || len(page.Items) != n+1 || page.Items[0].Title != "Newest" || page.Items[0].Body != "" {
		t.Errorf("first page after a new review: %s %s", r.Header.Get("X-Cache"), r.Body)
	}
}

func TestReviewsRefused(t *testing.T) {
	p := createProduct(t, "review-refused")
	other := createProduct(t, "review-refused")
	shopper := shopperClient(t)
	path := "/products/" + p.ProductID + "/reviews"
	for range 2 {
		shopper.Do(t, "POST", "/products/"+other.ProductID+"/reviews", map[string]any{"rating": 3, "title": "ok"}).Expect(t, 201, "")
	}
	otherPage, _ := listReviews(t, other.ProductID, url.Values{"limit": {"1"}})
	if otherPage.NextCursor == nil {
		t.Fatal("no cursor")
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"rating 0", map[string]any{"rating": 0, "title": "t"}, 400, "invalid_request"},
		{"rating 6", map[string]any{"rating": 6, "title": "t"}, 400, "invalid_request"},
		{"rating 4.5", map[string]any{"rating": 4.5, "title": "t"}, 400, "invalid_request"},
		{"rating a string", map[string]any{"rating": "5", "title": "t"}, 400, "invalid_request"},
		{"no rating", map[string]any{"title": "t"}, 400, "invalid_request"},
		{"no title", map[string]any{"rating": 4}, 400, "invalid_request"},
		{"empty title", map[string]any{"rating": 4, "title": ""}, 400, "invalid_request"},
		{"title of 121", map[string]any{"rating": 4, "title": strings.Repeat("t", 121)}, 400, "invalid_request"},
		{"body of 4001", map[string]any{"rating": 4, "title": "t", "body": strings.Repeat("b", 4001)}, 400, "invalid_request"},
		{"body a number", map[string]any{"rating": 4, "title": "t", "body": 7}, 400, "invalid_request"},
		{"unknown field", map[string]any{"rating": 4, "title": "t", "userId": "someone-else"}, 400, "invalid_request"},
		{"not JSON", "rating=5", 400, "invalid_request"},
		{"over 1 MiB", map[string]any{"rating": 4, "title": "t", "body": strings.Repeat("b", 1<<20)}, 413, "payload_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shopper.Do(t, "POST", path, tc.body).Expect(t, tc.status, tc.code)
			if n := storedReviews(t, p.ProductID); n != 0 {
				t.Errorf("%d reviews stored", n)
			}
		})
	}
	t.Run("limits of 120 and 4000 characters", func(t *testing.T) {
		shopper.Do(t, "POST", "/products/"+other.ProductID+"/reviews", map[string]any{
			"rating": 1, "title": strings.Repeat("ü", 120), "body": strings.Repeat("ü", 4000)}).Expect(t, 201, "")
	})
	t.Run("callers", func(t *testing.T) {
		anonymous().Do(t, "POST", path, map[string]any{"rating": 4, "title": "t"}).Expect(t, 401, "unauthorized")
		stagetest.NewClient(st.URL, "x.y.z").Do(t, "POST", path, map[string]any{"rating": 4, "title": "t"}).Expect(t, 401, "unauthorized")
		if n := storedReviews(t, p.ProductID); n != 0 {
			t.Errorf("%d reviews stored", n)
		}
	})
	t.Run("unknown product", func(t *testing.T) {
		shopper.Do(t, "POST", "/products/no-such-product/reviews", map[string]any{"rating": 4, "title": "t"}).Expect(t, 404, "not_found")
		anonymous().Do(t, "GET", "/products/no-such-product/reviews", nil).Expect(t, 404, "not_found")
		if n := storedReviews(t, "no-such-product"); n != 0 {
			t.Errorf("%d reviews stored for an unknown product", n)
		}
	})
	t.Run("bad lists", func(t *testing.T) {
		for _, q := range []string{
			"limit=0", "limit=101", "limit=x", "cursor=***", "cursor=eyJ4IjoieSJ9",
			"cursor=" + *otherPage.NextCursor, // another product's
		} {
			anonymous().Do(t, "GET", path+"?"+q, nil).Expect(t, 400, "invalid_request")
		}
		anonymous().Do(t, "GET", "/products/a%20b/reviews", nil).Expect(t, 400, "invalid_request")
	})
}
