package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

// adminClient, shopperClient and anonymous call the stage as an admin, a signed-in shopper
// and nobody.
func adminClient(t *testing.T) *stagetest.Client {
	t.Helper()
	return clientAs(t, "ada", "admin")
}

func shopperClient(t *testing.T) *stagetest.Client {
	t.Helper()
	return clientAs(t, "sam")
}

func clientAs(t *testing.T, sub string, groups ...string) *stagetest.Client {
	t.Helper()
	token, err := st.Token(sub, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return stagetest.NewClient(st.URL, token)
}

func anonymous() *stagetest.Client { return stagetest.NewClient(st.URL, "") }

// storedItem returns the product's item exactly as DynamoDB holds it (nil: no item).
func storedItem(t *testing.T, id string) map[string]types.AttributeValue {
	t.Helper()
	return stored(t, tables.Products, id)
}

// productsInCategory counts the stored products of a category.
func productsInCategory(t *testing.T, category string) int {
	t.Helper()
	table, _ := st.Admin.Config.Table(tables.Products)
	out, err := st.Admin.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(table), IndexName: aws.String(tables.ProductsByCategory),
		KeyConditionExpression:    aws.String("category = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: category}},
		Select:                    types.SelectCount,
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func validProduct(category string) map[string]any {
	return map[string]any{"name": "Desk Lamp", "description": "Warm light.", "category": category,
		"price": 2599, "currency": "EUR", "stock": 12}
}

// createProduct creates a product through the API and returns it.
func createProduct(t *testing.T, category string) catalog.Product {
	t.Helper()
	r := adminClient(t).Do(t, "POST", "/products", validProduct(category))
	r.Expect(t, http.StatusCreated, "")
	var p catalog.Product
	r.JSON(t, &p)
	return p
}

func getProduct(t *testing.T, id string) (catalog.Product, string) {
	t.Helper()
	r := anonymous().Do(t, "GET", "/products/"+id, nil)
	r.Expect(t, http.StatusOK, "")
	var p catalog.Product
	r.JSON(t, &p)
	return p, r.Header.Get("X-Cache")
}

// waitForCache waits until reads are served from Redis again.
func waitForCache(t *testing.T) {
	t.Helper()
	awaitCacheHit(t, "the product cache does not serve hits", func() *stagetest.Response {
		return anonymous().Do(t, "GET", "/products/books-05", nil)
	})
}

func TestProductLifecycle(t *testing.T) {
	waitForCache(t)
	admin := adminClient(t)

	// Create: 201, a new UUIDv7 id, Location, the document as stored.
	r := admin.Do(t, "POST", "/products", validProduct("lifecycle"))
	r.Expect(t, http.StatusCreated, "")
	var created catalog.Product
	r.JSON(t, &created)
	if u, err := uuid.Parse(created.ProductID); err != nil || u.Version() != 7 {
		t.Errorf("productId %q is not a UUIDv7", created.ProductID)
	}
	if loc := r.Header.Get("Location"); loc != "/products/"+created.ProductID {
		t.Errorf("Location %q", loc)
	}
	if created.Name != "Desk Lamp" || created.Price != 2599 || created.Currency != "EUR" || created.Stock != 12 ||
		created.ImageURL != nil || created.CreatedAt == "" || created.CreatedAt != created.UpdatedAt {
		t.Errorf("created %+v", created)
	}
	if !strings.Contains(string(r.Body), `"imageUrl":null`) {
		t.Errorf("imageUrl must be null until an image is set: %s", r.Body)
	}
	id := created.ProductID

	// Read: a miss, then a hit of the same document.
	first, s1 := getProduct(t, id)
	second, s2 := getProduct(t, id)
	if s1 != "miss" || s2 != "hit" || !reflect.DeepEqual(first, created) || !reflect.DeepEqual(second, created) {
		t.Fatalf("reads %s %+v, %s %+v; want miss then hit of %+v", s1, first, s2, second, created)
	}

	// Update: the answer and the next read (a miss) show the change; createdAt stays.
	time.Sleep(1100 * time.Millisecond) // so updatedAt (whole seconds) moves
	update := map[string]any{"name": "Desk Lamp II", "category": "lifecycle", "price": 0, "currency": "USD", "stock": 0}
	r = admin.Do(t, "PUT", "/products/"+id, update)
	r.Expect(t, http.StatusOK, "")
	var updated catalog.Product
	r.JSON(t, &updated)
	if updated.Name != "Desk Lamp II" || updated.Description != "" || updated.Price != 0 || updated.Currency != "USD" ||
		updated.Stock != 0 || updated.CreatedAt != created.CreatedAt || updated.UpdatedAt == created.UpdatedAt {
		t.Errorf("updated %+v", updated)
	}
	read, status := getProduct(t, id)
	if status != "miss" || !reflect.DeepEqual(read, updated) {
		t.Errorf("read after update: %s %+v, want miss %+v", status, read, updated)
	}
	if _, status := getProduct(t, id); status != "hit" {
		t.Errorf("second read after update: %s, want hit", status)
	}

	// Delete: 204, then the product is gone for readers and writers.
	r = admin.Do(t, "DELETE", "/products/"+id, nil)
	r.Expect(t, http.StatusNoContent, "")
	if len(r.Body) != 0 {
		t.Errorf("204 with a body: %s", r.Body)
	}
	anonymous().Do(t, "GET", "/products/"+id, nil).Expect(t, http.StatusNotFound, "not_found")
	admin.Do(t, "DELETE", "/products/"+id, nil).Expect(t, http.StatusNotFound, "not_found")
	admin.Do(t, "PUT", "/products/"+id, update).Expect(t, http.StatusNotFound, "not_found")
	if item := storedItem(t, id); item != nil {
		t.Errorf("PUT after DELETE recreated the item: %v", item)
	}
}

// Lengths count characters: 200 two-byte characters are a valid name, 201 are not.
func TestProductTextLengthsCountCharacters(t *testing.T) {
	admin := adminClient(t)
	body := validProduct("lengths")
	body["name"] = strings.Repeat("é", 200)
	body["description"] = strings.Repeat("日", 5000)
	r := admin.Do(t, "POST", "/products", body)
	r.Expect(t, http.StatusCreated, "")
	var p catalog.Product
	r.JSON(t, &p)
	if p.Name != body["name"] || p.Description != body["description"] {
		t.Error("text changed on the way")
	}
	body["name"] = strings.Repeat("é", 201)
	admin.Do(t, "POST", "/products", body).Expect(t, http.StatusBadRequest, "invalid_request")
}

// PUT is an UpdateItem of the body's fields: what it does not own (the image, attributes
// other functions keep, a stock change checkout makes meanwhile) survives it.
func TestProductPutKeepsWhatItDoesNotOwn(t *testing.T) {
	ctx := context.Background()
	p := createProduct(t, "keep")
	table, _ := st.Admin.Config.Table(tables.Products)
	_, err := st.Admin.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(table),
		Key:              map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: p.ProductID}},
		UpdateExpression: aws.String("SET imageUrl = :u, reserved = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": &types.AttributeValueMemberS{Value: "https://cdn.example/x.png"},
			":r": &types.AttributeValueMemberN{Value: "3"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := validProduct("keep")
	body["name"] = "Renamed"
	adminClient(t).Do(t, "PUT", "/products/"+p.ProductID, body).Expect(t, http.StatusOK, "")
	item := storedItem(t, p.ProductID)
	if v, ok := item["imageUrl"].(*types.AttributeValueMemberS); !ok || v.Value != "https://cdn.example/x.png" {
		t.Errorf("imageUrl lost: %v", item["imageUrl"])
	}
	if v, ok := item["reserved"].(*types.AttributeValueMemberN); !ok || v.Value != "3" {
		t.Errorf("an attribute PUT does not own was lost: %v", item["reserved"])
	}
	if v, ok := item["createdAt"].(*types.AttributeValueMemberS); !ok || v.Value != p.CreatedAt {
		t.Errorf("createdAt changed: %v", item["createdAt"])
	}
}

func TestProductWritesRefused(t *testing.T) {
	const category = "refused"
	existing := createProduct(t, category)
	before := storedItem(t, existing.ProductID)
	admin := adminClient(t)
	with := func(changes map[string]any) map[string]any {
		b := validProduct(category)
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"name is a number", with(map[string]any{"name": 5}), 400, "invalid_request"},
		{"price is a string", with(map[string]any{"price": "25.99"}), 400, "invalid_request"},
		{"price is a fraction", with(map[string]any{"price": 25.99}), 400, "invalid_request"},
		{"stock is a bool", with(map[string]any{"stock": true}), 400, "invalid_request"},
		{"description is a number", with(map[string]any{"description": 1}), 400, "invalid_request"},
		{"price is null", with(map[string]any{"price": nil}), 400, "invalid_request"},
		{"empty object", map[string]any{}, 400, "invalid_request"},
		{"no name", with(map[string]any{"name": nil}), 400, "invalid_request"},
		{"no category", with(map[string]any{"category": nil}), 400, "invalid_request"},
		{"no price", with(map[string]any{"price": nil}), 400, "invalid_request"},
		{"no currency", with(map[string]any{"currency": nil}), 400, "invalid_request"},
		{"no stock", with(map[string]any{"stock": nil}), 400, "invalid_request"},
		{"empty name", with(map[string]any{"name": ""}), 400, "invalid_request"},
		{"blank name", with(map[string]any{"name": "   "}), 400, "invalid_request"},
		{"name of 201", with(map[string]any{"name": strings.Repeat("n", 201)}), 400, "invalid_request"},
		{"description of 5001", with(map[string]any{"description": strings.Repeat("d", 5001)}), 400, "invalid_request"},
		{"category of 65", with(map[string]any{"category": strings.Repeat("c", 65)}), 400, "invalid_request"},
		{"category upper case", with(map[string]any{"category": "Lamps"}), 400, "invalid_request"},
		{"category empty", with(map[string]any{"category": ""}), 400, "invalid_request"},
		{"negative price", with(map[string]any{"price": -1}), 400, "invalid_request"},
		{"negative stock", with(map[string]any{"stock": -5}), 400, "invalid_request"},
		{"no shards", with(map[string]any{"stockShards": 0}), 400, "invalid_request"},
		{"101 shards", with(map[string]any{"stockShards": 101}), 400, "invalid_request"},
		{"shards a string", with(map[string]any{"stockShards": "10"}), 400, "invalid_request"},
		{"price too large", with(map[string]any{"price": int64(1) << 53}), 400, "invalid_request"},
		{"currency lower case", with(map[string]any{"currency": "eur"}), 400, "invalid_request"},
		{"currency of 2", with(map[string]any{"currency": "EU"}), 400, "invalid_request"},
		{"currency of 4", with(map[string]any{"currency": "EURO"}), 400, "invalid_request"},
		{"currency unknown", with(map[string]any{"currency": "ABC"}), 400, "invalid_request"},
		{"unknown field", with(map[string]any{"colour": "red"}), 400, "invalid_request"},
		{"read-only field", with(map[string]any{"productId": "mine"}), 400, "invalid_request"},
		{"not JSON", "name=lamp", 400, "invalid_request"},
		{"array", `[{"name":"x"}]`, 400, "invalid_request"},
		{"two objects", `{"name":"a"}{"name":"b"}`, 400, "invalid_request"},
		{"over 1 MiB", with(map[string]any{"description": strings.Repeat("d", 1<<20)}), 413, "payload_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin.Do(t, "POST", "/products", tc.body).Expect(t, tc.status, tc.code)
			admin.Do(t, "PUT", "/products/"+existing.ProductID, tc.body).Expect(t, tc.status, tc.code)
			if after := storedItem(t, existing.ProductID); !reflect.DeepEqual(after, before) {
				t.Errorf("stored product changed:\n%v\n%v", before, after)
			}
			if n := productsInCategory(t, category); n != 1 {
				t.Errorf("%d products in the category, want only the existing one", n)
			}
		})
	}

	t.Run("not JSON content type", func(t *testing.T) {
		admin.Do(t, "POST", "/products", `{"name":"x"}`, "Content-Type", "text/plain").Expect(t, 415, "unsupported_media_type")
	})
	t.Run("refused callers", func(t *testing.T) {
		path := "/products/" + existing.ProductID
		body := with(map[string]any{"name": "Hijacked"})
		for _, c := range []struct {
			who    string
			client *stagetest.Client
			status int
			code   string
		}{
			{"shopper", shopperClient(t), 403, "forbidden"},
			{"other group", clientAs(t, "ed", "editors"), 403, "forbidden"},
			{"no token", anonymous(), 401, "unauthorized"},
			{"bad token", stagetest.NewClient(st.URL, "not.a.jwt"), 401, "unauthorized"},
		} {
			c.client.Do(t, "POST", "/products", body).Expect(t, c.status, c.code)
			c.client.Do(t, "PUT", path, body).Expect(t, c.status, c.code)
			c.client.Do(t, "DELETE", path, nil).Expect(t, c.status, c.code)
			c.client.Do(t, "POST", path+"/image", map[string]string{"image": "", "contentType": "image/png"}).Expect(t, c.status, c.code)
			c.client.Do(t, "POST", path+"/image-upload-url", map[string]string{"contentType": "image/png"}).Expect(t, c.status, c.code)
		}
		if after := storedItem(t, existing.ProductID); !reflect.DeepEqual(after, before) {
			t.Errorf("stored product changed:\n%v\n%v", before, after)
		}
		if n := productsInCategory(t, category); n != 1 {
			t.Errorf("%d products in the category, want only the existing one", n)
		}
	})
	t.Run("unknown or malformed ids", func(t *testing.T) {
		admin.Do(t, "PUT", "/products/no-such-product", validProduct(category)).Expect(t, 404, "not_found")
		admin.Do(t, "DELETE", "/products/no-such-product", nil).Expect(t, 404, "not_found")
		if storedItem(t, "no-such-product") != nil {
			t.Error("PUT of an unknown id created it")
		}
		admin.Do(t, "PUT", "/products/a%20b", validProduct(category)).Expect(t, 400, "invalid_request")
		admin.Do(t, "DELETE", "/products/"+strings.Repeat("x", 65), nil).Expect(t, 400, "invalid_request")
	})
}

// A deleted product that was cached, then read, is a 404, and a product re-read after its
// deletion is not served from a stale copy by another function's instance either.
func TestWritesInvalidateEveryReader(t *testing.T) {
	waitForCache(t)
	p := createProduct(t, "invalidate")
	getProduct(t, p.ProductID)
	if _, status := getProduct(t, p.ProductID); status != "hit" {
		t.Fatalf("not cached: %s", status)
	}
	for i := range 3 {
		body := validProduct("invalidate")
		body["stock"] = i
		adminClient(t).Do(t, "PUT", "/products/"+p.ProductID, body).Expect(t, 200, "")
		if got, status := getProduct(t, p.ProductID); got.Stock != int64(i) || status != "miss" {
			t.Fatalf("after PUT %d: stock %d (%s)", i, got.Stock, status)
		}
	}
	adminClient(t).Do(t, "DELETE", "/products/"+p.ProductID, nil).Expect(t, 204, "")
	anonymous().Do(t, "GET", "/products/"+p.ProductID, nil).Expect(t, 404, "not_found")
	anonymous().Do(t, "GET", fmt.Sprintf("/products/%s/reviews", p.ProductID), nil).Expect(t, 404, "not_found")
}

// With Redis down, a write is saved but cannot promise that the cached copy is gone: it
// answers 503 with Retry-After, reads go to DynamoDB and show the change, and once Redis is
// back writes answer normally again.
func TestWritesDuringRedisOutage(t *testing.T) {
	p := createProduct(t, "outage")
	getProduct(t, p.ProductID)
	st.Servers.Redis.Stop()
	restarted := false
	restart := func() {
		if restarted {
			return
		}
		restarted = true
		if err := st.Servers.RestartRedis(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitForCache(t)
	}
	defer restart()

	body := validProduct("outage")
	body["stock"] = 1
	r := adminClient(t).Do(t, "PUT", "/products/"+p.ProductID, body)
	r.Expect(t, http.StatusServiceUnavailable, "unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if item := storedItem(t, p.ProductID); item["stock"].(*types.AttributeValueMemberN).Value != "1" {
		t.Errorf("the write was not saved: %v", item["stock"])
	}
	if got, status := getProduct(t, p.ProductID); got.Stock != 1 || status != "miss" {
		t.Errorf("read during the outage: stock %d (%s)", got.Stock, status)
	}
	// Reviews are saved too (their cached first page ages out with its short TTL).
	shopperClient(t).Do(t, "POST", "/products/"+p.ProductID+"/reviews", map[string]any{"rating": 4, "title": "Still works"}).
		Expect(t, http.StatusCreated, "")

	restart()
	body["stock"] = 2
	adminClient(t).Do(t, "PUT", "/products/"+p.ProductID, body).Expect(t, http.StatusOK, "")
	if got, _ := getProduct(t, p.ProductID); got.Stock != 2 {
		t.Errorf("after the outage: stock %d", got.Stock)
	}
}
