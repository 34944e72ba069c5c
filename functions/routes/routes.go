// Package routes is the one route table of the shop's HTTP API and the list of its functions
// with the resources each may touch. The httpapi component declares API Gateway routes from
// it, the gofunc component derives each function's IAM policy from it, and the local stage
// serves the same table: a route exists in both gateways or in neither.
//
// The package is plain data on purpose: no AWS SDK, no Pulumi.
package routes

import (
	"sort"

	"github.com/shop-serverless/shop/functions/tables"
)

// Auth says who may call a route.
type Auth string

// Route audiences. API Gateway's JWT authorizer guards User and Admin routes; the function
// itself checks the admin group, because an authorizer cannot tell 401 from 403.
const (
	Public Auth = "public"
	User   Auth = "user"
	Admin  Auth = "admin"
)

// Throttle is an API Gateway token bucket: RateLimit requests per second, BurstLimit at once.
type Throttle struct {
	RateLimit  float64
	BurstLimit int
}

// Route is one HTTP route.
type Route struct {
	Method string
	// Path uses API Gateway's syntax, which is also net/http's: "/products/{productId}".
	Path     string
	Function string
	Auth     Auth
	// Throttle overrides the stage's default throttling for this route; nil keeps the default.
	Throttle *Throttle
}

// Key is the API Gateway route key, "GET /products/{productId}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Access is what a function may do with a resource.
type Access string

// Access levels; IAM policies grant exactly the actions of the level.
const (
	Read      Access = "read"
	ReadWrite Access = "readwrite"
)

// TableAccess grants a function access to one table (and its indexes).
type TableAccess struct {
	Table  tables.Table
	Access Access
}

// Function is one Lambda function: its source folder is functions/<Name>.
type Function struct {
	Name        string
	Description string
	Tables      []TableAccess
	// Bucket is the function's access to the images bucket; empty: none.
	Bucket Access
	// Cache says the function talks to Redis, so it runs in the VPC and may connect to the cache.
	Cache bool
	// StreamOf names the table whose stream invokes the function; nil: invoked by the API.
	StreamOf *tables.Table
	// UploadsOf says the images bucket's object-created events under UploadPrefix invoke the
	// function (it needs Bucket access).
	UploadsOf bool
}

// Invoked says whether the function is invoked by an event source rather than by the API.
func (f Function) Invoked() bool { return f.StreamOf != nil || f.UploadsOf }

// ImagePrefix is the images bucket's prefix of published images, the only one CloudFront
// serves: products/<product id>/<content hash>.<ext>.
const ImagePrefix = "products/"

// UploadPrefix is the images bucket's staging prefix for browser uploads (presigned POST):
// nothing serves it, and the image checker publishes what it accepts under products/.
const UploadPrefix = "uploads/"

// Function names.
const (
	Health       = "health"
	Catalog      = "catalog"
	CatalogAdmin = "catalogadmin"
	Reviews      = "reviews"
	Cart         = "cart"
	Orders       = "orders"
	Invalidator  = "invalidator"
	ImageCheck   = "imagecheck"
)

// Functions lists every function, in a fixed order.
var Functions = []Function{
	{Name: Health, Description: "liveness probe"},
	{
		Name:        Catalog,
		Description: "catalog reads with Redis cache-aside",
		Tables:      []TableAccess{{tables.Products, Read}},
		Cache:       true,
	},
	{
		Name:        CatalogAdmin,
		Description: "product writes and images (admin)",
		Tables:      []TableAccess{{tables.Products, ReadWrite}},
		Bucket:      ReadWrite,
		Cache:       true,
	},
	{
		Name:        Reviews,
		Description: "product reviews",
		Tables:      []TableAccess{{tables.Products, Read}, {tables.Reviews, ReadWrite}},
		Cache:       true,
	},
	{
		Name:        Cart,
		Description: "shopping carts",
		Tables:      []TableAccess{{tables.Products, Read}, {tables.Carts, ReadWrite}},
	},
	{
		Name:        Orders,
		Description: "idempotent checkout, never oversold",
		Tables: []TableAccess{
			{tables.Products, ReadWrite},
			{tables.Orders, ReadWrite},
			{tables.Idempotency, ReadWrite},
		},
		Cache: true,
	},
	{
		Name:        Invalidator,
		Description: "evicts cached products when the products table changes",
		StreamOf:    &tables.Products,
		Cache:       true,
	},
	{
		Name:        ImageCheck,
		Description: "checks uploaded images and publishes them as the product's image",
		Tables:      []TableAccess{{tables.Products, ReadWrite}},
		Bucket:      ReadWrite,
		Cache:       true,
		UploadsOf:   true,
	},
}

// Default throttles of the hot routes; the stack config may override them.
var (
	readThrottle  = &Throttle{RateLimit: 10000, BurstLimit: 5000}
	writeThrottle = &Throttle{RateLimit: 100, BurstLimit: 50}
	orderThrottle = &Throttle{RateLimit: 3000, BurstLimit: 2000}
)

// All lists every route of the API, in a fixed order.
var All = []Route{
	{"GET", "/health", Health, Public, nil},
	{"GET", "/products", Catalog, Public, readThrottle},
	{"GET", "/products/{productId}", Catalog, Public, readThrottle},
	{"POST", "/products", CatalogAdmin, Admin, writeThrottle},
	{"PUT", "/products/{productId}", CatalogAdmin, Admin, writeThrottle},
	{"DELETE", "/products/{productId}", CatalogAdmin, Admin, writeThrottle},
	{"POST", "/products/{productId}/image", CatalogAdmin, Admin, writeThrottle},
	{"POST", "/products/{productId}/image-upload-url", CatalogAdmin, Admin, writeThrottle},
	{"GET", "/products/{productId}/reviews", Reviews, Public, readThrottle},
	{"POST", "/products/{productId}/reviews", Reviews, User, writeThrottle},
	{"GET", "/cart", Cart, User, nil},
	{"PUT", "/cart/items/{productId}", Cart, User, nil},
	{"POST", "/orders", Orders, User, orderThrottle},
	{"GET", "/orders", Orders, User, nil},
	{"GET", "/orders/{orderId}", Orders, User, nil},
}

// FunctionByName returns the named function.
func FunctionByName(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// CORS settings of the API for the browser origins a stage allows (the storefront's): the
// request headers the app sends and the response headers it reads.
var (
	CORSAllowHeaders  = []string{"authorization", "content-type", "idempotency-key"}
	CORSExposeHeaders = []string{"location", "retry-after", "x-cache"}
)

// CORSMaxAge is how long, in seconds, a browser may reuse a preflight's answer.
const CORSMaxAge = 3600

// CORSMethods are the methods of rs, sorted: what a browser may call cross-origin.
func CORSMethods(rs []Route) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if !seen[r.Method] {
			seen[r.Method] = true
			out = append(out, r.Method)
		}
	}
	sort.Strings(out)
	return out
}
