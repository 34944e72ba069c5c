package gateway

import (
	"net"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/shop-serverless/shop/functions/manifest"
)

// AddressRates are the edge's rate rules per client address, as the WAF web ACL in front
// of the cloud API has them (shop:edge): PerAddress requests to any route and
// OrdersPerAddress to POST /orders, each over Window.
type AddressRates struct {
	Window           time.Duration
	PerAddress       int
	OrdersPerAddress int
}

// AddressRateRules applies rates the way the WAF's rate-based rules do: requests are
// counted per client address (the connection's, which is the viewer's here: nothing
// proxies locally), every route against PerAddress and POST /orders against
// OrdersPerAddress too; an address over either is answered 429 with the edge's error body
// and Retry-After the window, before the gateway sees the request.
func AddressRateRules(rates AddressRates) func(http.Handler) http.Handler {
	opts := func() []httprate.Option {
		return []httprate.Option{
			httprate.WithLimitHandler(rateLimited),
			// The WAF sends none of httprate's X-RateLimit-* headers, only what its custom
			// response says.
			httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}),
		}
	}
	all := httprate.LimitBy(rates.PerAddress, rates.Window, clientAddress, opts()...)
	orders := httprate.LimitBy(rates.OrdersPerAddress, rates.Window, clientAddress, opts()...)
	return func(next http.Handler) http.Handler {
		limitedOrders := orders(next)
		return all(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == manifest.PlaceOrder.Method && r.URL.Path == manifest.PlaceOrder.Path {
				limitedOrders.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// clientAddress keys a request by its connection's address (an IPv6 /64 as one address).
func clientAddress(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}

func rateLimited(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(manifest.EdgeRateLimitedBody))
}
