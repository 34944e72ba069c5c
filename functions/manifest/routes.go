// Package manifest declares every function of the shop in one place: the resources it may
// use and exactly what it may do with them, the environment those resources imply, and the
// routes of the HTTP API it serves. The httpapi component declares API Gateway routes from it,
// the gofunc component derives each function's IAM policy from it, the cache component its
// ElastiCache user, and the local stage serves the same table, gives each function the same
// Redis ACL user and refuses its AWS requests the same grants lack: a route exists in both
// gateways or in neither, and a request is allowed in both or in neither.
//
// # Grants
//
// A function's entry lists what its code calls, nothing more:
//
//   - Tables: one TableGrant per table or index and condition, with the DynamoDB actions the
//     code sends there (a transaction needs the actions of its items: an Update item is
//     UpdateItem). Attributes limits a grant to requests that name only those attributes,
//     as for checkout's stock decrement.
//   - Bucket: one ObjectGrant per key prefix of the images bucket, with its S3 actions
//     (HeadObject is GetObject).
//   - Cache: the function's own cache user, its key patterns (one per key builder) and the
//     Redis commands its code and Lua scripts run.
//   - StreamOf: the table whose stream invokes it (Lambda's poller gets the stream's read
//     actions).
//   - Every function the API invokes checks the edge's header against the origin secret's
//     verifiers in its environment (ChecksOrigin, OriginHeader); no grant is needed.
//
// For example, a function fed by the bucket's object-created events that reads and deletes
// uploaded objects and sets a product's image would declare
//
//	Tables: []TableGrant{{Table: tables.Products, Actions: []Action{UpdateItem},
//		Attributes: []string{"productId", "imageUrl", "updatedAt"}}},
//	Bucket: []ObjectGrant{{Prefix: ImagesPrefix, Actions: []Action{GetObject, DeleteObject}}},
//	Cache:  &CacheAccess{Keys: productCacheKeys, Commands: cacheEvictCommands},
//
// The end-to-end tests of the local stage prove each list: a request a function's grants
// lack is refused there as IAM would refuse it, a cache command its user lacks is refused
// by Redis, and a full run fails when a declared action was never used.
//
// The package is plain data on purpose: no AWS SDK, no Pulumi.
package manifest

import (
	"slices"
	"sort"
	"strings"

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
	// Limit names the per-user limit (limits.go) the route counts against; empty: none.
	Limit string
}

// Key is the API Gateway route key, "GET /products/{productId}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Action is an IAM action a function's code performs: "dynamodb:GetItem", "s3:PutObject".
type Action string

// The actions a function may be granted on a table or an index. A transaction needs no
// action of its own: IAM checks each of its items against PutItem, UpdateItem, DeleteItem or
// ConditionCheckItem (TransactWriteItems) or GetItem (TransactGetItems).
const (
	GetItem            Action = "dynamodb:GetItem"
	BatchGetItem       Action = "dynamodb:BatchGetItem"
	Query              Action = "dynamodb:Query"
	Scan               Action = "dynamodb:Scan"
	PutItem            Action = "dynamodb:PutItem"
	UpdateItem         Action = "dynamodb:UpdateItem"
	DeleteItem         Action = "dynamodb:DeleteItem"
	BatchWriteItem     Action = "dynamodb:BatchWriteItem"
	ConditionCheckItem Action = "dynamodb:ConditionCheckItem"
)

// The actions a function may be granted on the images bucket's objects (HeadObject is
// GetObject to IAM).
const (
	GetObject    Action = "s3:GetObject"
	PutObject    Action = "s3:PutObject"
	DeleteObject Action = "s3:DeleteObject"
)

// TableGrant allows Actions on one table, or on one of its indexes.
type TableGrant struct {
	Table tables.Table
	// Index names one of Table's indexes; empty: the table itself.
	Index   string
	Actions []Action
	// Attributes, when set, allows only requests that name no other top-level attribute and
	// return no other (IAM's dynamodb:Attributes and dynamodb:ReturnValues condition keys).
	// Every attribute the request names counts, its condition's too, and so does the
	// table's key, which the list must hold.
	Attributes []string
}

// ObjectGrant allows Actions on the images bucket's objects whose keys start with Prefix.
type ObjectGrant struct {
	Prefix  string
	Actions []Action
}

// CacheAccess is a function's own cache user: the keys it may touch and the commands it may
// run (ElastiCache RBAC in the cloud, a Redis ACL user locally, from the same access string).
type CacheAccess struct {
	// Keys are Redis glob patterns of the keys the function's key builders make.
	Keys []string
	// Commands are the Redis commands the function runs, with those its Lua scripts call
	// (lower case).
	Commands []string
}

// connectionRules are what every connection needs besides the function's own commands: the
// handshake (HELLO with AUTH, go-redis's CLIENT SETINFO) and, on a cluster-mode cache, slot
// discovery (CLUSTER SLOTS, COMMAND); -@dangerous takes back what those two grant beyond
// that (CLIENT KILL, CLUSTER RESET and the like).
const connectionRules = "-@all +@connection +cluster -@dangerous"

// AccessString renders the cache user's ACL rules: on, the key patterns, no command but
// those a connection needs and Commands.
func (c CacheAccess) AccessString() string {
	parts := []string{"on"}
	for _, k := range c.Keys {
		parts = append(parts, "~"+k)
	}
	parts = append(parts, connectionRules)
	for _, cmd := range c.Commands {
		parts = append(parts, "+"+cmd)
	}
	return strings.Join(parts, " ")
}

// Function is one Lambda function: its source folder is functions/<Name>. Its grants are
// exactly what its code calls; nothing else is allowed in the cloud or on the local stage.
type Function struct {
	Name        string
	Description string
	// Tables are the function's DynamoDB grants; a table may appear in several (one per
	// index, or with and without Attributes).
	Tables []TableGrant
	// Bucket are the function's grants on the images bucket; none: no bucket.
	Bucket []ObjectGrant
	// Cache is the function's cache user; nil: the function does not use the cache. A
	// function with a cache runs in the VPC.
	Cache *CacheAccess
	// StreamOf names the table whose stream invokes the function; nil: invoked by the API.
	// The stream's read actions are Lambda's (its poller uses the function's role).
	StreamOf *tables.Table
	// UploadsOf says the images bucket's object-created events under UploadPrefix invoke the
	// function (it needs Bucket access).
	UploadsOf bool
	// Routes are the API routes the function serves (their Function is left empty: All
	// fills it in); none: invoked by an event source.
	Routes []Route
	// Settings are the stage settings the function reads besides EnvLogLevel, by variable.
	Settings []string
}

// RouteKeys are the keys of the function's routes, in order.
func (f Function) RouteKeys() []string {
	out := make([]string, len(f.Routes))
	for i, r := range f.Routes {
		out[i] = r.Key()
	}
	return out
}

// TablesUsed returns the tables the function's grants name, each once, in grant order.
func (f Function) TablesUsed() []tables.Table {
	var out []tables.Table
	for _, g := range f.Tables {
		if !slices.ContainsFunc(out, func(t tables.Table) bool { return t.Name == g.Table.Name }) {
			out = append(out, g.Table)
		}
	}
	return out
}

// Invoked says whether the function is invoked by an event source rather than by the API.
func (f Function) Invoked() bool { return f.StreamOf != nil || f.UploadsOf }

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

// ImagesPrefix is the images bucket's prefix of published images, the only one CloudFront
// serves: products/<product id>/<content hash>.<ext>.
const ImagesPrefix = "products/"

// Cache key patterns, one per key builder: the product cache (functions/internal/cache keys
// of catalog.CacheKey), the reviews' first pages (reviews.CacheKey) and the stock gate
// (orders.GateKey). The stage's ACL test checks each builder against its pattern.
var (
	productCacheKeys = []string{"c:{product:*}", "c:{product:*}:lock"}
	reviewCacheKeys  = []string{"c:{reviews:*}", "c:{reviews:*}:lock"}
	stockGateKeys    = []string{"stock:{product:*}", "stock:{product:*}:held"}
)

// Commands of the cache-aside reads (GET, SET NX, EXISTS while waiting, the fill and release
// scripts with their GET, SET and DEL) and of an eviction (DEL).
var (
	cacheReadCommands  = []string{"get", "set", "exists", "del", "evalsha", "eval"}
	cacheEvictCommands = []string{"del"}
)

// Functions lists every function, in a fixed order.
var Functions = []Function{
	{Name: Health, Description: "liveness probe", Routes: []Route{GetHealth}},
	{
		Name:        Catalog,
		Description: "catalog reads with Redis cache-aside",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{GetItem, Scan}},
			{Table: tables.Products, Index: tables.ProductsByCategory, Actions: []Action{Query}},
			{Table: tables.Stock, Actions: []Action{Query}},
		},
		Cache:  &CacheAccess{Keys: productCacheKeys, Commands: cacheReadCommands},
		Routes: []Route{ListProducts, GetProduct},
	},
	{
		Name:        CatalogAdmin,
		Description: "product writes and images (admin)",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{GetItem, PutItem, UpdateItem, DeleteItem}},
			// Spreading and moving the units of sharded stock.
			{Table: tables.Stock, Actions: []Action{Query, PutItem, DeleteItem}},
		},
		// S3 authorizes a presigned POST under uploads/ as the signer's PutObject.
		Bucket: []ObjectGrant{
			{Prefix: ImagesPrefix, Actions: []Action{PutObject}},
			{Prefix: UploadPrefix, Actions: []Action{PutObject}},
		},
		Cache:  &CacheAccess{Keys: productCacheKeys, Commands: cacheEvictCommands},
		Routes: []Route{CreateProduct, ReplaceProduct, DeleteProduct, UploadImage, ImageUploadURL},
	},
	{
		Name:        Reviews,
		Description: "product reviews",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{GetItem}},
			{Table: tables.Stock, Actions: []Action{Query}},
			{Table: tables.Reviews, Actions: []Action{Query, PutItem}},
		},
		Cache: &CacheAccess{
			Keys:     slices.Concat(productCacheKeys, reviewCacheKeys),
			Commands: cacheReadCommands,
		},
		Routes: []Route{ListReviews, CreateReview},
	},
	{
		Name:        Cart,
		Description: "shopping carts",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{BatchGetItem}},
			{Table: tables.Carts, Actions: []Action{GetItem, PutItem, UpdateItem}},
		},
		Routes:   []Route{GetCart, PutCartItem},
		Settings: []string{EnvCartTTL},
	},
	{
		Name:        Orders,
		Description: "idempotent checkout, never oversold",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{BatchGetItem}},
			// Checkout's stock decrement, conditioned on the price and currency the order carries.
			{Table: tables.Products, Actions: []Action{UpdateItem}, Attributes: []string{"productId", "stock", "price", "currency"}},
			// Sharded stock: reading a product's shards and taking units from them, conditioned
			// on the price, currency and layout generation each shard carries.
			{Table: tables.Stock, Actions: []Action{Query}},
			{Table: tables.Stock, Actions: []Action{UpdateItem}, Attributes: []string{"productId", "shard", "units", "price", "currency", "gen"}},
			{Table: tables.Orders, Actions: []Action{GetItem, PutItem}},
			{Table: tables.Orders, Index: tables.OrdersByUser, Actions: []Action{Query}},
			{Table: tables.Idempotency, Actions: []Action{GetItem, PutItem}},
			// maxPerCustomer: the user's units of a limited product go up within the limit.
			{Table: tables.Purchases, Actions: []Action{UpdateItem}, Attributes: []string{"userId", "productId", "units"}},
		},
		Cache: &CacheAccess{
			Keys: slices.Concat(stockGateKeys, productCacheKeys),
			// The gate's scripts (HMGET/HGET/HSET/HDEL/HINCRBY on the entry, ZADD/ZREM/
			// ZRANGEBYSCORE/ZREMRANGEBYSCORE on the reservations, EXISTS, PEXPIRE) and the
			// eviction of the ordered products' cached documents (DEL).
			Commands: []string{"evalsha", "eval", "exists", "hget", "hmget", "hset", "hdel", "hincrby",
				"pexpire", "zadd", "zrem", "zrangebyscore", "zremrangebyscore", "del"},
		},
		Routes: []Route{PlaceOrder, ListOrders, GetOrder},
	},
	{
		Name:        Invalidator,
		Description: "evicts cached products when the products table changes",
		StreamOf:    &tables.Products,
		Cache:       &CacheAccess{Keys: productCacheKeys, Commands: cacheEvictCommands},
	},
	{
		Name:        ImageCheck,
		Description: "checks uploaded images and publishes them as the product's image",
		Tables: []TableGrant{
			{Table: tables.Products, Actions: []Action{GetItem, UpdateItem}},
		},
		Bucket: []ObjectGrant{
			{Prefix: UploadPrefix, Actions: []Action{GetObject, DeleteObject}},
			{Prefix: ImagesPrefix, Actions: []Action{PutObject}},
		},
		Cache:     &CacheAccess{Keys: productCacheKeys, Commands: cacheEvictCommands},
		UploadsOf: true,
	},
}

// Default throttles of the hot routes; the stack config may override them.
var (
	readThrottle  = &Throttle{RateLimit: 10000, BurstLimit: 5000}
	writeThrottle = &Throttle{RateLimit: 100, BurstLimit: 50}
	orderThrottle = &Throttle{RateLimit: 3000, BurstLimit: 2000}
)

// The routes of the API, each served by the function whose entry lists it; a router binds its
// handlers to these routes' keys.
var (
	GetHealth      = Route{Method: "GET", Path: "/health", Auth: Public}
	ListProducts   = Route{Method: "GET", Path: "/products", Auth: Public, Throttle: readThrottle}
	GetProduct     = Route{Method: "GET", Path: "/products/{productId}", Auth: Public, Throttle: readThrottle}
	CreateProduct  = Route{Method: "POST", Path: "/products", Auth: Admin, Throttle: writeThrottle, Limit: LimitAdmin}
	ReplaceProduct = Route{Method: "PUT", Path: "/products/{productId}", Auth: Admin, Throttle: writeThrottle, Limit: LimitAdmin}
	DeleteProduct  = Route{Method: "DELETE", Path: "/products/{productId}", Auth: Admin, Throttle: writeThrottle, Limit: LimitAdmin}
	UploadImage    = Route{Method: "POST", Path: "/products/{productId}/image", Auth: Admin, Throttle: writeThrottle, Limit: LimitAdmin}
	ImageUploadURL = Route{Method: "POST", Path: "/products/{productId}/image-upload-url", Auth: Admin, Throttle: writeThrottle, Limit: LimitAdmin}
	ListReviews    = Route{Method: "GET", Path: "/products/{productId}/reviews", Auth: Public, Throttle: readThrottle}
	CreateReview   = Route{Method: "POST", Path: "/products/{productId}/reviews", Auth: User, Throttle: writeThrottle, Limit: LimitReviews}
	GetCart        = Route{Method: "GET", Path: "/cart", Auth: User}
	PutCartItem    = Route{Method: "PUT", Path: "/cart/items/{productId}", Auth: User, Limit: LimitCart}
	PlaceOrder     = Route{Method: "POST", Path: "/orders", Auth: User, Throttle: orderThrottle, Limit: LimitCheckout}
	ListOrders     = Route{Method: "GET", Path: "/orders", Auth: User}
	GetOrder       = Route{Method: "GET", Path: "/orders/{orderId}", Auth: User}
)

// All lists every route of the API, in the order of Functions and of each entry's Routes,
// each with the function that serves it.
var All = routesOf(Functions)

func routesOf(fns []Function) []Route {
	var out []Route
	for _, f := range fns {
		for _, r := range f.Routes {
			r.Function = f.Name
			out = append(out, r)
		}
	}
	return out
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
