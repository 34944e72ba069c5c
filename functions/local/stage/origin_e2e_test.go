package stage_test

import (
	"net/http"
	"testing"

	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
)

// TestRequestsThatBypassTheEdgeAreRefused: the stage's edge adds the origin header as
// CloudFront does; the functions refuse with 403 forbidden whatever reaches them without it,
// here through the gateway's own address as through the execute-api endpoint in the cloud,
// and a refused order takes no stock.
func TestRequestsThatBypassTheEdgeAreRefused(t *testing.T) {
	product := putStockedProduct(t, "bypass", 5, 1000, "EUR")
	path := "/products/" + product
	order := map[string]any{"items": []map[string]any{{"productId": product, "quantity": 1}}}

	edge := stagetest.NewClient(st.URL, "")
	if r := edge.Do(t, "GET", path, nil); r.Status != http.StatusOK {
		t.Fatalf("through the edge: %d %s", r.Status, r.Body)
	}
	// A client cannot choose the header's value: the edge replaces it.
	if r := edge.Do(t, "GET", path, nil, manifest.OriginHeader, "guess"); r.Status != http.StatusOK {
		t.Fatalf("through the edge with a header of its own: %d %s", r.Status, r.Body)
	}

	direct := stagetest.NewClient(st.APIEndpoint, "")
	direct.Do(t, "GET", path, nil).Expect(t, http.StatusForbidden, "forbidden")
	direct.Do(t, "GET", "/health", nil).Expect(t, http.StatusForbidden, "forbidden")
	direct.Do(t, "GET", path, nil, manifest.OriginHeader, "guess").Expect(t, http.StatusForbidden, "forbidden")
	direct.Do(t, "GET", path, nil, manifest.OriginHeader, "").Expect(t, http.StatusForbidden, "forbidden")
	// What a function's environment holds is a verifier of the secret, not the secret.
	health, _ := manifest.FunctionByName(manifest.Health)
	verifiers := st.LambdaEnvVars(health)[manifest.EnvOriginVerifiers]
	if verifiers == "" {
		t.Fatalf("health's environment has no %s", manifest.EnvOriginVerifiers)
	}
	direct.Do(t, "GET", "/health", nil, manifest.OriginHeader, verifiers).Expect(t, http.StatusForbidden, "forbidden")
	asUser(t, st.APIEndpoint, "bypasser").Do(t, "POST", "/orders", order, "Idempotency-Key", "bypass-1").
		Expect(t, http.StatusForbidden, "forbidden")
	if left := stockLeft(t, product); left != 5 {
		t.Fatalf("a refused order took stock: %d left of 5", left)
	}
	// The same order through the edge is placed.
	if r := asUser(t, st.URL, "bypasser").Do(t, "POST", "/orders", order, "Idempotency-Key", "bypass-1"); r.Status != http.StatusCreated {
		t.Fatalf("order through the edge: %d %s", r.Status, r.Body)
	}
	if left := stockLeft(t, product); left != 4 {
		t.Fatalf("after one order through the edge: %d left, want 4", left)
	}
}
