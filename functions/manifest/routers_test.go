package manifest_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/internal/health"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/manifest"
)

// routers are the HTTP functions' routers; binding handlers to keys needs no clients.
func routers(t *testing.T) map[string]api.Router {
	t.Helper()
	h, err := health.Function(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]api.Router{
		manifest.Health:       h,
		manifest.Catalog:      (&catalog.Reader{}).Routes(),
		manifest.CatalogAdmin: (&catalogadmin.Admin{}).Routes(),
		manifest.Reviews:      (&reviews.Service{}).Routes(),
		manifest.Cart:         (&cart.Handler{}).Routes(),
		manifest.Orders:       (&orders.Handler{}).Routes(),
	}
}

// Every router serves exactly the routes its function's entry declares: a key the route
// table lacks would never be reached, a declared route it lacks would answer 404 behind a
// route API Gateway serves.
func TestRoutersServeTheirDeclaredRoutes(t *testing.T) {
	rts := routers(t)
	for _, fn := range manifest.Functions {
		rt, ok := rts[fn.Name]
		if !ok {
			if len(fn.Routes) > 0 {
				t.Errorf("%s declares routes %v but has no router here", fn.Name, fn.RouteKeys())
			}
			continue
		}
		got := slices.Sorted(maps.Keys(rt))
		want := slices.Sorted(slices.Values(fn.RouteKeys()))
		for _, k := range got {
			if !slices.Contains(want, k) {
				t.Errorf("%s serves %q, which the route table lacks", fn.Name, k)
			}
		}
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("%s does not serve its declared route %q", fn.Name, k)
			}
		}
	}
}
