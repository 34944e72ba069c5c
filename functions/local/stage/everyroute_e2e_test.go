package stage_test

import (
	"encoding/base64"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
)

// operation is one documented route, with what the document says of it.
type operation struct {
	key     string // "PUT /products/{productId}"
	method  string
	path    string
	secured bool
	body    bool
	answers []string
}

// documentedOperations reads every operation of the API's OpenAPI document, so the tests
// below cover a route as soon as it is documented.
func documentedOperations(t *testing.T) []operation {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(manifest.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var out []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			secured := op.Security != nil && len(*op.Security) > 0
			if op.Security == nil {
				secured = len(doc.Security) > 0
			}
			out = append(out, operation{key: method + " " + path, method: method, path: path, secured: secured,
				body: op.RequestBody != nil, answers: slices.Sorted(maps.Keys(op.Responses.Map()))})
		}
	}
	slices.SortFunc(out, func(a, b operation) int { return strings.Compare(a.key, b.key) })
	return out
}

// concrete fills a documented path's parameters.
func concrete(path, productID string) string {
	return strings.NewReplacer("{productId}", productID, "{orderId}", "no-such-order").Replace(path)
}

// Every route that takes a body refuses one over the contract's 1 MiB with 413 (the image
// route has its own, larger limit, tested with the images), and one that is not JSON with
// 415; every signed-in route refuses a request without a token with 401. Nothing changes.
func TestEveryRouteRefusesOversizeUntypedAndAnonymousRequests(t *testing.T) {
	p := createProduct(t, "every-route")
	admin := adminClient(t)
	auth := "Bearer " + admin.Token
	before := storedItem(t, p.ProductID)
	oversize := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	for _, op := range documentedOperations(t) {
		path := concrete(op.path, p.ProductID)
		if op.body && op.key != manifest.UploadImage.Key() {
			t.Run(op.key+" 413", func(t *testing.T) {
				raw(t, op.method, path, oversize, "Authorization", auth, "Content-Type", "application/json",
					"Idempotency-Key", "every-route-413").Expect(t, http.StatusRequestEntityTooLarge, "payload_too_large")
			})
		}
		if op.body {
			t.Run(op.key+" 415", func(t *testing.T) {
				raw(t, op.method, path, `{}`, "Authorization", auth, "Idempotency-Key", "every-route-415").
					Expect(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
			})
		}
		if op.secured {
			t.Run(op.key+" 401", func(t *testing.T) {
				raw(t, op.method, path, `{}`, "Content-Type", "application/json").Expect(t, http.StatusUnauthorized, "unauthorized")
			})
		}
	}
	if after := storedItem(t, p.ProductID); !sameItem(before, after) {
		t.Errorf("refused requests changed the product: %v, was %v", after, before)
	}
}

// While DynamoDB fails on its side, every route that documents 503 answers it with
// Retry-After and the contract's body (never 500, never the service's words), the health
// check stays up, and once DynamoDB is back the same requests are served and nothing stored
// before was changed by the failed ones.
func TestEveryRouteAnswers503WhileDynamoDBFails(t *testing.T) {
	p := createProduct(t, "outage")
	admin := adminClient(t)
	shopper := clientAs(t, "olga")
	img := base64.StdEncoding.EncodeToString(pngImage(t))
	// A request the document allows for each route, from someone allowed to send it, on data
	// not yet in the cache (a cached answer needs no DynamoDB).
	requests := map[string]func() *stagetest.Response{
		"GET /products": func() *stagetest.Response {
			return anonymous().Do(t, "GET", "/products?category=outage-empty", nil)
		},
		"POST /products": func() *stagetest.Response {
			return admin.Do(t, "POST", "/products", validProduct("outage"))
		},
		"GET /products/{productId}": func() *stagetest.Response {
			return anonymous().Do(t, "GET", "/products/outage-unknown", nil)
		},
		"PUT /products/{productId}": func() *stagetest.Response {
			return admin.Do(t, "PUT", "/products/"+p.ProductID, validProduct("outage-moved"))
		},
		"DELETE /products/{productId}": func() *stagetest.Response {
			return admin.Do(t, "DELETE", "/products/"+p.ProductID, nil)
		},
		"POST /products/{productId}/image": func() *stagetest.Response {
			return admin.Do(t, "POST", "/products/"+p.ProductID+"/image", map[string]string{"image": img, "contentType": "image/png"})
		},
		"POST /products/{productId}/image-upload-url": func() *stagetest.Response {
			return admin.Do(t, "POST", "/products/"+p.ProductID+"/image-upload-url", map[string]string{"contentType": "image/png"})
		},
		"GET /products/{productId}/reviews": func() *stagetest.Response {
			return anonymous().Do(t, "GET", "/products/"+p.ProductID+"/reviews", nil)
		},
		"POST /products/{productId}/reviews": func() *stagetest.Response {
			return shopper.Do(t, "POST", "/products/"+p.ProductID+"/reviews", map[string]any{"rating": 5, "title": "Fine", "body": ""})
		},
		"GET /cart": func() *stagetest.Response { return shopper.Do(t, "GET", "/cart", nil) },
		"PUT /cart/items/{productId}": func() *stagetest.Response {
			return shopper.Do(t, "PUT", "/cart/items/"+p.ProductID, map[string]int{"quantity": 1})
		},
		"POST /orders": func() *stagetest.Response {
			return shopper.Do(t, "POST", "/orders", map[string]any{"items": []map[string]any{{"productId": p.ProductID, "quantity": 1}}},
				"Idempotency-Key", "outage-order")
		},
		"GET /orders":           func() *stagetest.Response { return shopper.Do(t, "GET", "/orders", nil) },
		"GET /orders/{orderId}": func() *stagetest.Response { return shopper.Do(t, "GET", "/orders/outage-order-id", nil) },
	}
	for _, op := range documentedOperations(t) {
		if _, ok := requests[op.key]; slices.Contains(op.answers, "503") != ok {
			t.Fatalf("%s: documents 503 %v, has a request here %v: keep the two together", op.key, slices.Contains(op.answers, "503"), ok)
		}
	}
	before := storedItem(t, p.ProductID)

	st.DynamoDB().SetOutage(true)
	defer st.DynamoDB().SetOutage(false)
	for _, key := range slices.Sorted(maps.Keys(requests)) {
		t.Run(key, func(t *testing.T) {
			r := requests[key]()
			r.Expect(t, http.StatusServiceUnavailable, "unavailable")
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
			}
			if strings.Contains(string(r.Body), "InternalServerError") || strings.Contains(strings.ToLower(string(r.Body)), "dynamodb") {
				t.Errorf("the answer tells the service's failure: %s", r.Body)
			}
		})
	}
	anonymous().Do(t, "GET", "/health", nil).Expect(t, http.StatusOK, "")
	st.DynamoDB().SetOutage(false)

	if after := storedItem(t, p.ProductID); !sameItem(before, after) {
		t.Errorf("failed writes changed the product: %v, was %v", after, before)
	}
	requests["GET /products/{productId}"] = func() *stagetest.Response {
		return anonymous().Do(t, "GET", "/products/"+p.ProductID, nil)
	}
	for _, key := range []string{"GET /products/{productId}", "GET /products/{productId}/reviews", "GET /cart", "GET /orders"} {
		requests[key]().Expect(t, http.StatusOK, "")
	}
}

// sameItem reports whether two stored items hold the same attributes and values.
func sameItem(a, b map[string]types.AttributeValue) bool {
	var x, y map[string]any
	if attributevalue.UnmarshalMap(a, &x) != nil || attributevalue.UnmarshalMap(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
