package main

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/cache"
	"github.com/shop-serverless/shop/components/cors"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/components/httpapi"
	"github.com/shop-serverless/shop/components/network"
	"github.com/shop-serverless/shop/components/table"
	"github.com/shop-serverless/shop/functions/manifest"
)

// project is the Pulumi project name and the namespace of its configuration keys.
const project = "shop"

// logRetentionDays are the values CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Config is a stack's whole configuration: read once from Pulumi.<stack>.yaml, validated,
// then handed to the components piece by piece. Components never read configuration.
type Config struct {
	// Stack is the stack's name ("dev", "prod").
	Stack string
	// Region is aws:region, the region everything is deployed to.
	Region string
	// Prefix names physical resources: "shop-<stack>".
	Prefix string

	// ProtectData marks tables, the bucket and the user pool protect and retain-on-delete.
	ProtectData bool
	// LogRetentionDays applies to every log group.
	LogRetentionDays int
	// LogLevel is the functions' log level: debug, info, warn or error.
	LogLevel string
	// CartTTL is how long an idle cart lives (a Go duration).
	CartTTL string
	// CORSOrigins may call the API and upload images from a browser besides the storefront,
	// whose origin is allowed without being listed.
	CORSOrigins []string
	// AlarmEmail is the secret shop:alarmEmail; nil when unset.
	AlarmEmail pulumi.StringInput
	// OriginSecret is the secret shop:originSecret, the value of the header CloudFront adds
	// to every request it sends to the API.
	OriginSecret pulumi.StringOutput
	// PreviousOriginSecret is the secret shop:previousOriginSecret, which the functions still
	// accept while a new OriginSecret reaches CloudFront's edge locations; nil when unset.
	PreviousOriginSecret pulumi.StringInput

	Network    NetworkConfig
	Cache      CacheConfig
	Tables     TablesConfig
	Images     ImagesConfig
	API        APIConfig
	Functions  FunctionsConfig
	Auth       AuthConfig
	Monitoring MonitoringConfig
	Encryption EncryptionConfig
	Site       SiteConfig
	Edge       EdgeConfig
	// UserLimits is shop:userLimits, the per-user rates of the signed-in routes that write
	// (manifest.LimitNames), enforced by the functions on Redis; a limit the stack does not
	// set keeps manifest.DefaultUserLimits.
	UserLimits map[string]manifest.UserLimit
}

// EdgeConfig is shop:edge, the CloudFront distribution and WAF web ACL in front of the API.
// Its rate rules count the requests of one client address over WindowSeconds, as AWS WAF's
// rate-based rules do.
type EdgeConfig struct {
	// WindowSeconds is the rate rules' evaluation window: 60, 120, 300 or 600.
	WindowSeconds int `json:"windowSeconds"`
	// RatePerAddress is how many requests one address may send to any route in a window.
	RatePerAddress int `json:"ratePerAddress"`
	// OrdersRatePerAddress is the tighter limit of POST /orders (checkout attempts).
	OrdersRatePerAddress int    `json:"ordersRatePerAddress"`
	PriceClass           string `json:"priceClass"`
	// Domain is an optional custom domain (certificate in us-east-1); CloudFront's own domain
	// cannot require TLS 1.2.
	Domain *SiteDomainConfig `json:"domain"`
}

// SiteConfig is shop:site, the storefront's hosting.
type SiteConfig struct {
	// Enabled deploys the storefront; it signs in through the stack's user pool, so an
	// external issuer needs it off.
	Enabled bool `json:"enabled"`
	// Domain is an optional custom domain; the certificate must be in us-east-1.
	Domain     *SiteDomainConfig `json:"domain"`
	PriceClass string            `json:"priceClass"`
}

// SiteDomainConfig is the storefront's custom domain; with hostedZoneId the program adds
// its DNS records.
type SiteDomainConfig struct {
	Name           string `json:"name"`
	CertificateArn string `json:"certificateArn"`
	HostedZoneID   string `json:"hostedZoneId"`
}

// NetworkConfig is shop:network.
type NetworkConfig struct {
	CIDR    string `json:"cidr"`
	AZCount int    `json:"azCount"`
	// NATMode is none, single or perAz.
	NATMode string `json:"natMode"`
	// FlowLogTrafficType is ALL, ACCEPT or REJECT.
	FlowLogTrafficType string `json:"flowLogTrafficType"`
}

// CacheConfig is shop:cache.
type CacheConfig struct {
	Engine                string `json:"engine"`
	EngineVersion         string `json:"engineVersion"`
	Mode                  string `json:"mode"`
	NodeType              string `json:"nodeType"`
	Nodes                 int    `json:"nodes"`
	SnapshotRetentionDays int    `json:"snapshotRetentionDays"`
	MaxDataGB             int    `json:"maxDataGb"`
	MaxECPUPerSecond      int    `json:"maxEcpuPerSecond"`
}

// TablesConfig is shop:tables; it applies to every table.
type TablesConfig struct {
	BillingMode          string `json:"billingMode"`
	ReadCapacity         int    `json:"readCapacity"`
	WriteCapacity        int    `json:"writeCapacity"`
	MaxReadRequestUnits  int    `json:"maxReadRequestUnits"`
	MaxWriteRequestUnits int    `json:"maxWriteRequestUnits"`
	PointInTimeRecovery  bool   `json:"pointInTimeRecovery"`
	DeletionProtection   bool   `json:"deletionProtection"`
	TableClass           string `json:"tableClass"`
}

// ImagesConfig is shop:images.
type ImagesConfig struct {
	Versioning            bool   `json:"versioning"`
	NoncurrentVersionDays int    `json:"noncurrentVersionDays"`
	PriceClass            string `json:"priceClass"`
}

// Throttle is a token bucket: requests per second and burst. It converts to
// manifest.Throttle, field for field.
type Throttle struct {
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
}

// DomainConfig is an optional custom domain for the API.
type DomainConfig struct {
	Name           string `json:"name"`
	CertificateArn string `json:"certificateArn"`
	HostedZoneID   string `json:"hostedZoneId"`
}

// APIConfig is shop:api.
type APIConfig struct {
	// Throttle is the default of every route.
	Throttle Throttle `json:"throttle"`
	// RouteThrottles override the route table's throttles, by route key ("POST /orders").
	RouteThrottles map[string]Throttle `json:"routeThrottles"`
	Domain         *DomainConfig       `json:"domain"`
	// DetailedMetrics publishes per-route metrics (billed as custom metrics).
	DetailedMetrics bool `json:"detailedMetrics"`
}

// FunctionSettings, FunctionsConfig (shop:functions) and Sizes are declared beside the
// functions, where the local stage reads them too.
type (
	FunctionSettings = manifest.FunctionSettings
	FunctionsConfig  = manifest.FunctionsConfig
	Sizes            = manifest.Sizes
)

// AuthConfig is shop:auth.
type AuthConfig struct {
	// Mode is cognito (a user pool in the stack) or external (an existing issuer).
	Mode      string   `json:"mode"`
	Issuer    string   `json:"issuer"`
	Audiences []string `json:"audiences"`
	// MFA is OFF, OPTIONAL or ON (cognito only). ON requires a TOTP factor of every user:
	// Cognito cannot require MFA for the admin group alone.
	MFA string `json:"mfa"`
	// ThreatProtection is OFF, AUDIT or ENFORCED (cognito only; the Plus feature plan).
	ThreatProtection string `json:"threatProtection"`
	// DomainPrefix names the hosted sign-in, https://<prefix>.auth.<region>.amazoncognito.com;
	// empty: the stack's prefix (shop-<stack>).
	DomainPrefix string `json:"domainPrefix"`
}

// MonitoringConfig is shop:monitoring; it converts to monitoring.Thresholds, field for
// field (zero fields take the component's defaults).
type MonitoringConfig struct {
	APILatencyP99Ms          int `json:"apiLatencyP99Ms"`
	API5xxCount              int `json:"api5xxCount"`
	DurationPercentOfTimeout int `json:"durationPercentOfTimeout"`
	CacheCPUPercent          int `json:"cacheCpuPercent"`
	CacheMemoryPercent       int `json:"cacheMemoryPercent"`
	CacheEvictions           int `json:"cacheEvictions"`
}

// EncryptionConfig is shop:encryption.
type EncryptionConfig struct {
	// CustomerManagedKey encrypts the customer-data tables and every log group with the
	// stack's own KMS key (rotated yearly, ~1 USD a month) instead of AWS managed keys.
	CustomerManagedKey bool `json:"customerManagedKey"`
	// KeyDeletionDays is the key's waiting period before deletion, 7..30.
	KeyDeletionDays int `json:"keyDeletionDays"`
}

// Validate reports the bad values of shop:encryption.
func (e EncryptionConfig) Validate() error {
	if e.KeyDeletionDays < 7 || e.KeyDeletionDays > 30 {
		return fmt.Errorf("%s:encryption.keyDeletionDays: %d must be 7..30", project, e.KeyDeletionDays)
	}
	return nil
}

// loadConfig reads and validates the stack's configuration.
func loadConfig(ctx *pulumi.Context) (*Config, error) {
	c := &Config{
		Stack:            ctx.Stack(),
		Prefix:           project + "-" + ctx.Stack(),
		LogRetentionDays: 14,
		LogLevel:         manifest.DefaultLogLevel,
		CartTTL:          manifest.DefaultCartTTL,
		Network:          NetworkConfig{CIDR: "10.0.0.0/16", AZCount: 2, NATMode: network.NATNone, FlowLogTrafficType: "ALL"},
		Cache:            CacheConfig{Engine: cache.Valkey, Mode: cache.Nodes, NodeType: "cache.t4g.micro", Nodes: 1},
		Tables:           TablesConfig{BillingMode: table.OnDemand, TableClass: "STANDARD"},
		Images:           ImagesConfig{PriceClass: bucket.CheapestPriceClass},
		API:              APIConfig{Throttle: Throttle{RateLimit: 100, BurstLimit: 200}},
		Auth:             AuthConfig{Mode: "cognito", MFA: "OPTIONAL", ThreatProtection: "OFF"},
		Encryption:       EncryptionConfig{KeyDeletionDays: 30},
		Site:             SiteConfig{Enabled: true, PriceClass: bucket.CheapestPriceClass},
		Edge:             EdgeConfig{WindowSeconds: 300, RatePerAddress: 2000, OrdersRatePerAddress: 100, PriceClass: bucket.CheapestPriceClass},
		UserLimits:       maps.Clone(manifest.DefaultUserLimits),
	}
	var errs []error
	region, ok := ctx.GetConfig("aws:region")
	if !ok || region == "" {
		errs = append(errs, errors.New("aws:region: required (pulumi config set aws:region eu-central-1)"))
	}
	c.Region = region

	settings := []struct {
		key string
		dst any
	}{
		{"protectData", &c.ProtectData},
		{"logRetentionDays", &c.LogRetentionDays},
		{"logLevel", &c.LogLevel},
		{"cartTtl", &c.CartTTL},
		{"corsOrigins", &c.CORSOrigins},
		{"network", &c.Network},
		{"cache", &c.Cache},
		{"tables", &c.Tables},
		{"images", &c.Images},
		{"api", &c.API},
		{"functions", &c.Functions},
		{"auth", &c.Auth},
		{"monitoring", &c.Monitoring},
		{"encryption", &c.Encryption},
		{"site", &c.Site},
		{"edge", &c.Edge},
		{"userLimits", &c.UserLimits},
	}
	known := []string{"alarmEmail", originSecretKey, previousOriginSecretKey}
	for _, v := range settings {
		known = append(known, v.key)
		if err := decode(ctx, v.key, v.dst); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, unknownKeys(known)...)
	// The alarm address is read as a secret whether or not the stack file encrypts it, so it
	// never shows in state, previews or graph snapshots.
	if email, ok := ctx.GetConfig(project + ":alarmEmail"); ok && email != "" {
		c.AlarmEmail = pulumi.Sprintf("%s", pulumi.ToSecret(pulumi.String(email)))
	}
	secret, err := originSecret(ctx, originSecretKey)
	if err != nil {
		errs = append(errs, err)
	}
	c.OriginSecret = secret
	if prev, ok := ctx.GetConfig(project + ":" + previousOriginSecretKey); ok && prev != "" {
		current, _ := ctx.GetConfig(project + ":" + originSecretKey)
		switch secret, err := originSecret(ctx, previousOriginSecretKey); {
		case err != nil:
			errs = append(errs, err)
		case prev == current:
			errs = append(errs, fmt.Errorf("%s:%s: the same as %s: remove it once a rotation is over", project, previousOriginSecretKey, originSecretKey))
		default:
			c.PreviousOriginSecret = secret
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// originSecretKey is the key of the edge's origin secret; previousOriginSecretKey, set only
// during a rotation, the key of the one it replaces.
const (
	originSecretKey         = "originSecret"
	previousOriginSecretKey = "previousOriginSecret"
)

// minOriginSecretLength is the shortest origin secret the program accepts: 32 characters of
// `openssl rand -base64 32` carry far more than enough entropy against guessing, and so
// against turning the functions' verifiers (its SHA-256) back into it.
const minOriginSecretLength = 32

// originSecret reads the origin secret at name (originSecretKey or previousOriginSecretKey),
// which must be stored encrypted: set with `pulumi config set --secret`, so the stack file
// never holds it in plain text.
func originSecret(ctx *pulumi.Context, name string) (pulumi.StringOutput, error) {
	key := project + ":" + name
	v, ok := ctx.GetConfig(key)
	switch {
	case !ok || v == "":
		return pulumi.StringOutput{}, fmt.Errorf("%s: required: pulumi config set --secret %s \"$(openssl rand -base64 32)\"", key, key)
	case !ctx.IsConfigSecret(key):
		return pulumi.StringOutput{}, fmt.Errorf("%s: must be a secret: set it with pulumi config set --secret", key)
	case len(v) < minOriginSecretLength:
		return pulumi.StringOutput{}, fmt.Errorf("%s: at least %d characters", key, minOriginSecretLength)
	}
	return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput), nil
}

// decode reads one optional key into dst strictly, so a typo in a stack file is an error
// rather than a silently ignored setting: member names are exact (case-sensitive), none
// unknown, none twice.
func decode(ctx *pulumi.Context, key string, dst any) error {
	raw, ok := ctx.GetConfig(project + ":" + key)
	if !ok {
		return nil
	}
	if s, isString := dst.(*string); isString {
		*s = raw
		return nil
	}
	err := json.Unmarshal([]byte(raw), dst, json.RejectUnknownMembers(true))
	var semErr *json.SemanticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &semErr) && errors.Is(semErr.Err, json.ErrUnknownName):
		return fmt.Errorf("%s:%s%s: unknown key", project, key, dotted(semErr.JSONPointer))
	case errors.As(err, &semErr) && semErr.JSONPointer != "":
		return fmt.Errorf("%s:%s%s: a JSON %s is not a valid value here", project, key, dotted(semErr.JSONPointer), semErr.JSONKind)
	default:
		return fmt.Errorf("%s:%s: %w", project, key, err)
	}
}

// dotted renders a JSON pointer ("/network/azCount") as a key path (".network.azCount").
func dotted(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		b.WriteString("." + tok)
	}
	return b.String()
}

// unknownKeys reports every key of the project's namespace that the program does not read.
// The Pulumi SDK offers no list of the configuration's keys, so they are read where the SDK
// reads them: the engine hands the whole configuration to a Go program as a JSON object in
// PULUMI_CONFIG. Other namespaces (aws:, pulumi:) belong to providers and are left alone.
func unknownKeys(known []string) []error {
	all := map[string]string{}
	if raw := os.Getenv(pulumi.EnvConfig); raw != "" {
		if err := json.Unmarshal([]byte(raw), &all); err != nil {
			return []error{fmt.Errorf("%s: %w", pulumi.EnvConfig, err)}
		}
	}
	var errs []error
	for _, k := range sortedKeys(all) {
		name, ours := strings.CutPrefix(k, project+":")
		if ours && !slices.Contains(known, name) {
			errs = append(errs, fmt.Errorf("%s: unknown key", k))
		}
	}
	return errs
}

// Validate reports every problem of the configuration at once, each under its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%s: %s", project, key, fmt.Sprintf(format, args...)))
	}
	oneOf := func(key, got string, allowed ...string) {
		if !slices.Contains(allowed, got) {
			bad(key, "%q is not one of %s", got, strings.Join(allowed, ", "))
		}
	}

	if !slices.Contains(logRetentionDays, c.LogRetentionDays) {
		bad("logRetentionDays", "%d is not a CloudWatch retention (%v)", c.LogRetentionDays, logRetentionDays)
	}
	oneOf("logLevel", c.LogLevel, "debug", "info", "warn", "error")
	if d, err := time.ParseDuration(c.CartTTL); err != nil || d < time.Hour {
		bad("cartTtl", "%q must be a Go duration of at least 1h", c.CartTTL)
	}
	for _, o := range c.CORSOrigins {
		if err := cors.CheckOrigin(o); err != nil {
			bad("corsOrigins", "%v", err)
		}
	}

	n := c.Network
	if n.AZCount < 1 || n.AZCount > 6 {
		bad("network.azCount", "%d must be 1..6", n.AZCount)
	}
	oneOf("network.natMode", n.NATMode, network.NATNone, network.NATSingle, network.NATPerAZ)
	oneOf("network.flowLogTrafficType", n.FlowLogTrafficType, network.FlowLogTrafficTypes...)

	k := c.Cache
	oneOf("cache.engine", k.Engine, cache.Valkey, cache.Redis)
	oneOf("cache.mode", k.Mode, cache.Nodes, cache.Serverless)
	if k.Mode == cache.Nodes {
		if k.Nodes < 1 || k.Nodes > 6 {
			bad("cache.nodes", "%d must be 1..6", k.Nodes)
		}
		if k.Nodes > 1 && n.AZCount < 2 {
			bad("cache.nodes", "%d nodes fail over across zones: network.azCount must be at least 2", k.Nodes)
		}
	}
	if k.Mode == cache.Serverless && n.AZCount < 2 {
		bad("cache.mode", "serverless needs subnets in at least 2 zones (network.azCount >= 2)")
	}
	if k.SnapshotRetentionDays < 0 || k.SnapshotRetentionDays > 35 {
		bad("cache.snapshotRetentionDays", "%d must be 0..35", k.SnapshotRetentionDays)
	}

	t := c.Tables
	oneOf("tables.billingMode", t.BillingMode, table.OnDemand, table.Provisioned)
	oneOf("tables.tableClass", t.TableClass, "STANDARD", "STANDARD_INFREQUENT_ACCESS")
	if t.BillingMode == table.Provisioned && (t.ReadCapacity < 1 || t.WriteCapacity < 1) {
		bad("tables", "PROVISIONED needs readCapacity and writeCapacity")
	}

	oneOf("images.priceClass", c.Images.PriceClass, bucket.PriceClasses...)
	if c.Images.NoncurrentVersionDays < 0 {
		bad("images.noncurrentVersionDays", "must not be negative")
	}

	a := c.API
	checkThrottle := func(key string, t Throttle) {
		if t.RateLimit <= 0 || t.BurstLimit <= 0 {
			bad(key, "needs a positive rateLimit and burstLimit")
		}
	}
	checkThrottle("api.throttle", a.Throttle)
	for _, key := range sortedKeys(a.RouteThrottles) {
		if !slices.ContainsFunc(manifest.All, func(r manifest.Route) bool { return r.Key() == key }) {
			bad("api.routeThrottles", "%q is not a route of the route table", key)
		}
		checkThrottle("api.routeThrottles."+key, a.RouteThrottles[key])
	}
	if d := a.Domain; d != nil && (d.Name == "" || d.CertificateArn == "") {
		bad("api.domain", "needs name and certificateArn (an ACM certificate in %s)", c.Region)
	}

	for _, name := range sortedKeys(c.Functions.Overrides) {
		if _, ok := manifest.FunctionByName(name); !ok {
			bad("functions.overrides", "%q is not a function of the function list", name)
		}
	}
	for _, f := range manifest.Functions {
		s := c.Functions.SizesFor(f.Name)
		key := "functions.overrides." + f.Name
		if s.MemoryMB < gofunc.MinMemoryMB || s.MemoryMB > gofunc.MaxMemoryMB {
			bad(key+".memoryMb", "%d must be %d..%d", s.MemoryMB, gofunc.MinMemoryMB, gofunc.MaxMemoryMB)
		}
		maxTimeout := gofunc.MaxTimeoutSeconds
		if !f.Invoked() {
			maxTimeout = httpapi.MaxFunctionTimeoutSeconds
		}
		if s.TimeoutSeconds < 1 || s.TimeoutSeconds > maxTimeout {
			bad(key+".timeoutSeconds", "%d must be 1..%d", s.TimeoutSeconds, maxTimeout)
		}
		if s.ReservedConcurrency < 0 {
			bad(key+".reservedConcurrency", "%d must not be negative", s.ReservedConcurrency)
		}
	}

	if err := c.Encryption.Validate(); err != nil {
		errs = append(errs, err)
	}
	oneOf("site.priceClass", c.Site.PriceClass, bucket.PriceClasses...)
	if d := c.Site.Domain; d != nil && (d.Name == "" || !strings.HasPrefix(d.CertificateArn, "arn:aws:acm:us-east-1:")) {
		bad("site.domain", "needs name and certificateArn (an ACM certificate in us-east-1, as CloudFront requires)")
	}
	if c.Site.Enabled && c.Auth.Mode == "external" {
		bad("site.enabled", "the storefront signs in through the stack's user pool; with auth.mode external set it to false")
	}

	e := c.Edge
	oneOf("edge.windowSeconds", strconv.Itoa(e.WindowSeconds), "60", "120", "300", "600")
	// AWS WAF's bounds of a rate-based rule's limit.
	for _, r := range []struct {
		key   string
		limit int
	}{{"edge.ratePerAddress", e.RatePerAddress}, {"edge.ordersRatePerAddress", e.OrdersRatePerAddress}} {
		if r.limit < 10 || r.limit > 2_000_000_000 {
			bad(r.key, "%d must be 10..2000000000", r.limit)
		}
	}
	if e.OrdersRatePerAddress > e.RatePerAddress {
		bad("edge.ordersRatePerAddress", "%d must not exceed edge.ratePerAddress %d", e.OrdersRatePerAddress, e.RatePerAddress)
	}
	oneOf("edge.priceClass", e.PriceClass, bucket.PriceClasses...)
	if d := e.Domain; d != nil && (d.Name == "" || !strings.HasPrefix(d.CertificateArn, "arn:aws:acm:us-east-1:")) {
		bad("edge.domain", "needs name and certificateArn (an ACM certificate in us-east-1, as CloudFront requires)")
	}

	for _, name := range sortedKeys(c.UserLimits) {
		l := c.UserLimits[name]
		if _, ok := manifest.DefaultUserLimits[name]; !ok {
			bad("userLimits", "%q is not a limit (%s)", name, strings.Join(manifest.LimitNames(), ", "))
		} else if l.PerMinute < 1 || l.Burst < 1 {
			bad("userLimits."+name, "needs a positive perMinute and burst")
		}
	}

	switch c.Auth.Mode {
	case "cognito":
		oneOf("auth.mfa", c.Auth.MFA, "OFF", "OPTIONAL", "ON")
		oneOf("auth.threatProtection", c.Auth.ThreatProtection, "OFF", "AUDIT", "ENFORCED")
	case "external":
		if u, err := url.Parse(c.Auth.Issuer); err != nil || u.Scheme != "https" {
			bad("auth.issuer", "%q must be an https URL", c.Auth.Issuer)
		}
		if len(c.Auth.Audiences) == 0 {
			bad("auth.audiences", "external mode needs at least one audience")
		}
	default:
		bad("auth.mode", "%q is not one of cognito, external", c.Auth.Mode)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
