package main

import "github.com/shop-serverless/shop/functions/manifest"

// Report is the JSON report `make bench` writes to $BENCH_REPORT. Every figure is measured in
// one run; targets are ratios against references of the same run.
type Report struct {
	Machine Machine `json:"machine"`
	// Scenarios are the scenarios this run measured, in order.
	Scenarios []string  `json:"scenarios"`
	HotRead   HotRead   `json:"hot_read"`
	Stampede  Stampede  `json:"stampede"`
	FlashSale FlashSale `json:"flash_sale"`
	// FlashSaleLoaded is the same sale beside CPU busy loops.
	FlashSaleLoaded FlashSale            `json:"flash_sale_loaded"`
	RedisDown       RedisDown            `json:"redis_down"`
	ColdStart       map[string]ColdStart `json:"cold_start"`
	Artifacts       map[string]Artifact  `json:"artifacts"`
	HotSKU          *HotSKU              `json:"hot_sku,omitempty"`
	Cost            *CostReport          `json:"cost,omitempty"`
	Abuse           *Abuse               `json:"abuse,omitempty"`
	// Storefront is nil when the run leaves the storefront out (the smoke test).
	Storefront *Storefront          `json:"storefront,omitempty"`
	Targets    []Target             `json:"targets"`
	Series     map[string][]float64 `json:"-"` // latencies in ms per series, for the plot
	Notes      map[string]string    `json:"notes,omitempty"`
}

// Machine describes where the figures were measured.
type Machine struct {
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
	Date   string `json:"date"`
}

// HotRead compares warm cached reads with the floor and with the article's naive path, with
// the functions in-process; Lambda is the cached reads and the floor again in Lambda mode.
type HotRead struct {
	CachedP50Ms    float64       `json:"cached_p50_ms"`
	CachedP99Ms    float64       `json:"cached_p99_ms"`
	CachedRPS      float64       `json:"cached_rps"`
	FloorHTTPP50Ms float64       `json:"floor_http_p50_ms"`
	FloorHTTPP99Ms float64       `json:"floor_http_p99_ms"`
	FloorHTTPRPS   float64       `json:"floor_http_rps"`
	RedisGetP50Ms  float64       `json:"redis_get_p50_ms"`
	NaiveP50Ms     float64       `json:"naive_p50_ms"`
	NaiveRPS       float64       `json:"naive_rps"`
	Lambda         HotReadLambda `json:"lambda"`
	Workers        int           `json:"workers"`
	Seconds        float64       `json:"seconds"`
}

// HotReadLambda is the same cached reads and floor (GET /health) through the gateway of a
// stage in Lambda mode, where each request is an invocation of an emulator's environment:
// beside the in-process figures, what the runtime's hop costs.
type HotReadLambda struct {
	CachedP50Ms    float64 `json:"cached_p50_ms"`
	CachedP99Ms    float64 `json:"cached_p99_ms"`
	CachedRPS      float64 `json:"cached_rps"`
	FloorHTTPP50Ms float64 `json:"floor_http_p50_ms"`
	FloorHTTPP99Ms float64 `json:"floor_http_p99_ms"`
	FloorHTTPRPS   float64 `json:"floor_http_rps"`
	// Environments counts the environments each function started by the end.
	Environments map[string]int `json:"environments"`
}

// Stampede counts DynamoDB reads behind concurrent misses for one product: over Instances
// in-process catalog instances (own clients and state), and over Lambda environments.
type Stampede struct {
	Requests     int   `json:"requests"`
	Instances    int   `json:"instances"`
	DBReads      int64 `json:"db_reads"`
	NaiveDBReads int64 `json:"naive_db_reads"`
	// NaiveThrottled counts the naive reads refused past the SDK's retries by the key's
	// limit (the scenario runs with the limits on).
	NaiveThrottled int `json:"naive_throttled"`
	// Environments is the burst through the gateway in Lambda mode.
	Environments StampedeEnvironments `json:"environments"`
}

// StampedeEnvironments is a burst of concurrent misses for one product through the gateway in
// Lambda mode: each catalog environment a process of its own, its reads counted by the
// DynamoDB endpoint, where every process's requests arrive.
type StampedeEnvironments struct {
	Requests int `json:"requests"`
	// Provisioned environments were started, idle, before the burst was released; Served is
	// how many environments served its requests, ColdStarts how many started during it.
	Provisioned int `json:"provisioned"`
	Served      int `json:"served"`
	ColdStarts  int `json:"cold_starts"`
	// DBReads counts the catalog function's GetItem requests at the endpoint.
	DBReads int64 `json:"db_reads"`
	// Cache counts the answers by X-Cache (hit: filled by another environment meanwhile).
	Cache map[string]int `json:"x_cache"`
}

// FlashSale is the checkout of the last units of one product.
type FlashSale struct {
	Stock           int     `json:"stock"`
	Attempts        int     `json:"attempts"`
	Retries         int     `json:"retries"`
	Confirmed       int     `json:"confirmed"`
	Oversold        int     `json:"oversold"`
	Duplicates      int     `json:"duplicates"`
	SoldOutDBWrites int64   `json:"sold_out_db_writes"`
	OrdersPerS      float64 `json:"orders_per_s"`
	Seconds         float64 `json:"seconds"`
	// BusyLoops is how many CPU busy loops ran beside the sale.
	BusyLoops int `json:"busy_loops,omitempty"`
	Errors    int `json:"errors"`
	// ErrorAnswers counts the answers that were neither an order nor out_of_stock.
	ErrorAnswers map[string]int `json:"error_answers,omitempty"`
}

// RedisDown is the hot read load while Redis is stopped.
type RedisDown struct {
	Requests       int     `json:"requests"`
	Errors         int     `json:"errors"`
	P99Ms          float64 `json:"p99_ms"`
	OutageRequests int     `json:"outage_requests"`
}

// ColdStart is a function's init under the emulator, beside the hello-world's in the same
// run: the emulator's INIT REPORT duration (from starting the bootstrap to its first request
// for work), and, as recorded, the REPORT line's Init Duration, which this emulator measures
// before the bootstrap runs.
type ColdStart struct {
	Starts                 int     `json:"starts"`
	InitP50Ms              float64 `json:"init_p50_ms"`
	HelloInitP50Ms         float64 `json:"hello_init_p50_ms"`
	ReportedInitP50Ms      float64 `json:"report_line_init_p50_ms"`
	HelloReportedInitP50Ms float64 `json:"hello_report_line_init_p50_ms"`
}

// Artifact is a function's deployment package.
type Artifact struct {
	ZipBytes     int64  `json:"zip_bytes"`
	SHA256       string `json:"sha256"`
	Reproducible bool   `json:"reproducible"`
}

// Storefront is the built storefront served by the local site server on a seeded stage.
type Storefront struct {
	// Pages are Lighthouse's scores (0..100, mobile, simulated throttling) by page.
	Pages map[string]PageScores `json:"pages"`
	// CatalogJSGzipBytes is the JavaScript the catalog page loads, gzipped.
	CatalogJSGzipBytes int `json:"catalog_js_gzip_bytes"`
	// CatalogJS are those scripts, largest first.
	CatalogJS []Asset `json:"catalog_js"`
	// FirstCard times the first product card of the catalog page.
	FirstCard FirstCard `json:"first_card"`
}

// PageScores are Lighthouse's category scores of one page.
type PageScores struct {
	Performance   float64 `json:"performance"`
	Accessibility float64 `json:"accessibility"`
	BestPractices float64 `json:"best_practices"`
}

// Asset is one file a page loads.
type Asset struct {
	Path      string `json:"path"`
	Bytes     int    `json:"bytes"`
	GzipBytes int    `json:"gzip_bytes"`
}

// FirstCard is the time from navigation start to the first product card on screen and to the
// document's first byte, medians of fresh navigations of one run.
type FirstCard struct {
	Runs           int     `json:"runs"`
	TTFBP50Ms      float64 `json:"ttfb_p50_ms"`
	FirstCardP50Ms float64 `json:"first_card_p50_ms"`
}

// Target is one of the published targets and whether this run met it.
type Target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// HotSKU is a sale of one product with the per-key limit on, per shard count.
type HotSKU struct {
	// Limits are the per-key limits of the run (the service's, scaled).
	WriteUnitsPerKey float64   `json:"write_units_per_key"`
	Runs             []HotSale `json:"runs"`
	Note             string    `json:"note,omitempty"`
}

// HotSale is one run of the hot product's sale.
type HotSale struct {
	Shards    int `json:"shards"`
	Stock     int `json:"stock"`
	Shoppers  int `json:"shoppers"`
	Confirmed int `json:"confirmed"`
	// UnitsPerS is units sold per second from the first confirmed order to the last, which
	// took SaleSeconds.
	UnitsPerS   float64 `json:"units_per_s"`
	SaleSeconds float64 `json:"sale_seconds"`
	Oversold    int     `json:"oversold"`
	Duplicates  int     `json:"duplicates"`
	// Unreadable counts confirmed orders GET /orders/{id} did not return.
	Unreadable int `json:"unreadable"`
	// Throttled is how many DynamoDB requests the endpoint refused for the key's limit.
	Throttled int64 `json:"throttled"`
	// Transactions counts the checkout transactions sent, confirmed or cancelled.
	Transactions int64 `json:"transactions"`
	// Answers counts the answers by status; OutOfContract those outside 2xx, 409 and 503
	// with Retry-After.
	Answers       map[int]int `json:"answers"`
	OutOfContract int         `json:"out_of_contract"`
	// Unfinished counts, by error, the shoppers who got neither an order nor sold out
	// (a transport error, or still told to retry after 60 tries).
	Unfinished map[string]int `json:"unfinished,omitempty"`
}

// CostReport is what reads and sales used, priced per stack.
type CostReport struct {
	CachedReads   Work        `json:"cached_reads"`
	NaiveReads    Work        `json:"naive_reads"`
	GatedSale     Work        `json:"gated_sale"`
	UngatedSale   Work        `json:"ungated_sale"`
	GatedOrders   int         `json:"gated_orders"`
	UngatedOrders int         `json:"ungated_orders"`
	Stacks        []StackCost `json:"stacks"`
}

// StackCost is the cost model applied to one stack's configuration, in USD.
type StackCost struct {
	Stack     string `json:"stack"`
	CatalogMB int    `json:"catalog_mb"`
	OrdersMB  int    `json:"orders_mb"`
	// CacheMonthlyUSD is the node-based cache's fixed price; its calls then cost nothing more.
	CacheMonthlyUSD     float64 `json:"cache_monthly_usd"`
	CacheChargedPerCall bool    `json:"cache_charged_per_call"`
	PerMillionCached    Cost    `json:"per_million_cached_reads"`
	PerMillionNaive     Cost    `json:"per_million_naive_reads"`
	// PerMillionCachedCDN adds CloudFront's requests and transfer in front of the API.
	PerMillionCachedCDN  Cost  `json:"per_million_cached_reads_behind_cloudfront"`
	PerThousandGated     Cost  `json:"per_thousand_orders_gated"`
	PerThousandUngated   Cost  `json:"per_thousand_orders_ungated"`
	ResponseBytesPerRead int64 `json:"response_bytes_per_read"`
}

// soldOutLeases is how many sold-out leases (1 s, the orders function's default) the sale
// spanned: each function instance may spend one write per lease to learn a product is sold
// out when the Redis gate cannot decide.
func (f FlashSale) soldOutLeases() int64 { return int64(f.Seconds) + 1 }

// Abuse is a flash sale with one bot user among the shoppers, with the per-user limits and
// without (abuse.go).
type Abuse struct {
	Shoppers int `json:"shoppers"`
	// ShopperRequests is each shopper's requests over the sale's Seconds; the bot sends
	// BotFactor times as many.
	ShopperRequests int     `json:"shopper_requests"`
	Seconds         float64 `json:"seconds"`
	BotFactor       int     `json:"bot_factor"`
	Stock           int     `json:"stock"`
	MaxPerCustomer  int     `json:"max_per_customer"`
	// CheckoutLimit is the dev stack's per-user limit of POST /orders, the runs' with the
	// limit on.
	CheckoutLimit manifest.UserLimit `json:"checkout_limit"`
	// Runs are the sale without the bot and with it, per-user limit on; and with the bot,
	// no limiter.
	Runs []AbuseRun `json:"runs"`
}

// AbuseRun is one sale of Abuse.
type AbuseRun struct {
	Bot        bool `json:"bot"`
	UserLimits bool `json:"user_limits"`
	// ShopperErrors are the shoppers' answers other than 201 and 409 out_of_stock or
	// purchase_limit; ShopperErrorRate their share in percent.
	ShopperRequests  int     `json:"shopper_requests"`
	ShopperErrors    int     `json:"shopper_errors"`
	ShopperErrorRate float64 `json:"shopper_error_rate_percent"`
	ShopperP50Ms     float64 `json:"shopper_p50_ms"`
	ShopperP99Ms     float64 `json:"shopper_p99_ms"`
	ShopperUnits     int64   `json:"shopper_units"`
	BotRequests      int     `json:"bot_requests"`
	BotUnits         int64   `json:"bot_units"`
	// BotRateLimited counts the bot's 429s from the per-user limit, BotEdgeRefused those
	// from the edge's per-address rule (none: the bench's edge has none).
	BotRateLimited int `json:"bot_rate_limited"`
	BotEdgeRefused int `json:"bot_edge_refused"`
	Oversold       int `json:"oversold"`
	// Throttled is how many DynamoDB requests of the orders function on the products and
	// stock tables the endpoint refused for the per-key limit during the run.
	Throttled int64 `json:"throttled"`
	// Transactions counts the checkout transactions sent, confirmed or cancelled.
	Transactions int64 `json:"transactions"`
	// ShopperAnswers and BotAnswers count the answers by status and error code.
	ShopperAnswers map[string]int `json:"shopper_answers"`
	BotAnswers     map[string]int `json:"bot_answers,omitempty"`
}
