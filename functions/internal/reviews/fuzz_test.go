package reviews

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
)

// The fuzz targets feed the review routes' decoders arbitrary bodies, path ids, limits and
// cursors. None may panic, and every refusal must be a 4xx of the contract.

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if status := api.StatusOf(err); status < 400 || status > 499 {
		t.Fatalf("refusal with status %d: %v", status, err)
	}
}

func FuzzDecodeReview(f *testing.F) {
	for _, seed := range []string{
		`{"rating":5,"title":"Great","body":"Works.\nWell."}`,
		`{"rating":1,"title":"Meh"}`,
		`{"rating":0,"title":"x"}`, `{"rating":6,"title":"x"}`, `{"rating":4.5,"title":"x"}`,
		`{"rating":"5","title":"x"}`, `{"rating":5,"title":""}`, `{"rating":5,"title":"   "}`,
		`{"rating":5,"title":"\u0007bell"}`, `{"rating":99999999999999999999,"title":"x"}`,
		`{"rating":5,"title":"x","userId":"someone"}`, `{"rating":null,"title":null,"body":null}`,
		`{}`, ``, `[]`, `{"rating":`,
	} {
		f.Add(seed, "application/json", false)
	}
	f.Add(`{"rating":5,"title":"x"}`, "text/plain", false)
	f.Add(`eyJyYXRpbmciOjUsInRpdGxlIjoieCJ9`, "application/json", true)
	// Strict decoding: exact names, no duplicates, a JSON content type.
	f.Add(`{"rating":5,"title":"x"}`, "", false)
	f.Add(`{"rating":5,"title":"x"}`, "application/json; charset=utf-16", false)
	f.Add(`{"Rating":5,"title":"x"}`, "application/json", false)
	f.Add(`{"rating":5,"Title":"x"}`, "application/json", false)
	f.Add(`{"rating":1,"rating":5,"title":"x"}`, "application/json", false)
	f.Add(`{"rating":5,"title":"x","title":"y"}`, "application/json", false)
	f.Fuzz(func(t *testing.T, body, contentType string, b64 bool) {
		req := api.Request{Body: body, Headers: map[string]string{"content-type": contentType}, IsBase64Encoded: b64}
		d, err := decodeReview(req)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !strings.HasPrefix(strings.ToLower(contentType), "application/json") {
			t.Fatalf("accepted a body sent as %q", contentType)
		}
		if d.Rating < MinRating || d.Rating > MaxRating || utf8.RuneCountInString(d.Title) > TitleRule.Max ||
			utf8.RuneCountInString(d.Body) > BodyRule.Max || strings.TrimSpace(d.Title) == "" {
			t.Fatalf("accepted %+v", d)
		}
	})
}

func FuzzParseList(f *testing.F) {
	valid := *dynamo.EncodeCursor(map[string]types.AttributeValue{
		"productId": &types.AttributeValueMemberS{Value: "books-01"},
		"sortKey":   &types.AttributeValueMemberS{Value: "2026-01-10T09:00:00.000Z#0190"},
	})
	f.Add("books-01", "", false, "", false)
	f.Add("books-01", "20", true, "", false)
	f.Add("books-01", "3", true, valid, true)
	f.Add("other-02", "3", true, valid, true)
	f.Add("books-01", "0", true, "", false)
	f.Add("books-01", "101", true, "***", true)
	f.Add("books-01", "-1", true, "eyJ4IjoieSJ9", true)
	f.Add("books-01", "", false, "eyJwcm9kdWN0SWQiOjEsInNvcnRLZXkiOiJ4In0", true)
	f.Add("../etc", "", false, "", false)
	f.Add("", "", false, "", false)
	f.Add(strings.Repeat("a", 65), "", false, "", false)
	f.Add("a b", "1e2", true, "", true)
	f.Fuzz(func(t *testing.T, productID, limit string, hasLimit bool, cursor string, hasCursor bool) {
		req := api.Request{PathParameters: map[string]string{"productId": productID}, QueryStringParameters: map[string]string{}}
		if hasLimit {
			req.QueryStringParameters["limit"] = limit
		}
		if hasCursor {
			req.QueryStringParameters["cursor"] = cursor
		}
		lr, err := parseList(req)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !api.ValidID(lr.productID) || lr.limit < 1 || lr.limit > api.MaxLimit {
			t.Fatalf("accepted %+v", lr)
		}
		if lr.start != nil {
			if p, ok := lr.start["productId"].(*types.AttributeValueMemberS); !ok || p.Value != lr.productID || len(lr.start) != 2 {
				t.Fatalf("accepted a cursor of another list: %v", lr.start)
			}
			if lr.first {
				t.Fatal("a page after a cursor counted as the first page")
			}
		}
	})
}
