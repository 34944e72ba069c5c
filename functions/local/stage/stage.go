// Package stage runs the shop locally on real servers: it starts Redis, DynamoDB Local and
// s3rver, creates the tables (from the shared definitions) and the images bucket, gives each
// function the environment the infrastructure program gives it in the cloud, and serves the
// route table through the local gateway: in Lambda mode to each function's deployment binary
// in the emulator's environments, in-process to its handler (Runtime). `make dev`, the
// end-to-end tests and the benchmarks all run on it.
package stage

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/internal/clients/s3client"
	"github.com/shop-serverless/shop/functions/internal/health"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/internal/origin"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/local/access"
	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/emulator"
	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/local/servers"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// httpFunctions builds each HTTP function of the route table.
var httpFunctions = map[string]app.HTTPFunction{
	manifest.Health:       health.Function,
	manifest.Catalog:      catalog.Function,
	manifest.CatalogAdmin: catalogadmin.Function,
	manifest.Reviews:      reviews.Function,
	manifest.Cart:         cart.Function,
	manifest.Orders:       orders.Function,
}

// Local stage identities: s3rver accepts only these credentials, and DynamoDB Local accepts them too.
const (
	accessKey   = "S3RVER"
	secretKey   = "S3RVER"
	region      = "us-east-1"
	tablePrefix = "shop-local-"
	bucket      = "shop-local-images"
	// concurrentRequests is how many requests one in-process function instance is sized for.
	concurrentRequests = 1000
	// Issuer and Audience of the local stage's tokens.
	Issuer   = "https://shop.local/issuer"
	Audience = "shop-local"
)

// Options configure a stage.
type Options struct {
	// Addr is where the gateway listens; empty: a free loopback port.
	Addr string
	// Seed loads the sample catalog.
	Seed bool
	// SeedImages uploads a generated picture for every sample product, as an admin does
	// (needs Seed).
	SeedImages bool
	// Logger receives the gateway's and the functions' logs; default: discard.
	Logger *slog.Logger
	// DynamoDBClient, when set, wraps the HTTP client of each function's DynamoDB client in
	// process mode; in Lambda mode, where the clients live in the environments, the stage's
	// DynamoDB endpoint runs it on each request of the function its path names.
	DynamoDBClient func(function string, next dynamodb.HTTPClient) dynamodb.HTTPClient
	// DynamoDBLimits are the per-key throughput limits of the stage's DynamoDB endpoint
	// (dynproxy.ServiceLimits.Scaled(f)); zero: capacity is metered and counted, never limited.
	DynamoDBLimits dynproxy.Limits
	// Middleware, when set, wraps the gateways' handlers (not the S3 endpoint's).
	Middleware func(http.Handler) http.Handler
	// UserLimits are the per-user limits (manifest.EnvUserLimits) of the stage's functions,
	// by name; nil: GenerousUserLimits, so that suites whose tests send many requests as one
	// user are not refused. `make dev` gives dev's (StackLimits), a test of the limits
	// its own tight ones (ServeWithUserLimits).
	UserLimits map[string]manifest.UserLimit
	// EdgeRates are the edge's per-address rate rules (the WAF's, shop:edge); nil: none, so
	// that suites and benchmarks sending floods from one loopback address are not refused.
	// `make dev` gives dev's, a test of the rules its own (ServeWithEdgeRates).
	EdgeRates *gateway.AddressRates
	// CORSOrigins are the browser origins (the storefront's) that may call the API and upload
	// images to the stage's S3 endpoint, as the API's CORS configuration and the images
	// bucket's CORS rule allow them in the cloud; nil: DefaultCORSOrigins.
	CORSOrigins []string
	// Runtime is how the functions run; empty: RuntimeFromEnv ($SHOP_RUNTIME, else Lambda).
	Runtime Runtime
	// FunctionLog receives the output of the functions' environments in Lambda mode (their
	// JSON log lines and the emulator's START, END and REPORT lines), each line prefixed
	// with the function's name and the environment's number; nil: discarded.
	FunctionLog io.Writer
}

// DefaultCORSOrigins is the storefront's local origin.
var DefaultCORSOrigins = []string{"http://127.0.0.1:5173", "http://localhost:5173"}

// Stage is a running local stage.
type Stage struct {
	// URL is where clients call the API, "http://127.0.0.1:8080": the stage's edge, which
	// adds the origin header as CloudFront does, in front of the gateway.
	URL string
	// APIEndpoint is the gateway itself, as the execute-api endpoint is in the cloud: the
	// functions refuse what is sent there (403), for it lacks the origin header.
	APIEndpoint string
	Servers     *servers.Set
	Issuer      *gateway.Issuer
	// Admin is the clients of an all-access identity, for seeding and for tests to inspect state.
	Admin *AdminClients
	opts  Options
	guard *access.Guard
	// cacheUsers are the Redis users' passwords, by user (function) name.
	cacheUsers cacheUsers
	servers    []*http.Server
	clients    []*clients.Clients
	// s3URL is the S3 endpoint functions and browsers get: s3rver behind S3's checks (images.go).
	s3URL string
	// dynamoURL is the DynamoDB endpoint functions get: DynamoDB Local behind dynamo (dynamodb.go).
	dynamoURL string
	dynamo    *dynproxy.Proxy
	// originSecret is the value of manifest.OriginHeader on this stage, new every run.
	originSecret string
	// settings are the stage's settings by variable (manifest.Links.Settings).
	settings map[string]string
	// secrets and keyOf are each function's credentials (its role's, in the cloud): secret by
	// access key id, and key id by function name. The S3 endpoint's guard tells functions
	// apart by them.
	secrets map[string]string
	keyOf   map[string]string
	lambdaState
}

// Start starts the servers, creates the tables and bucket and serves the gateway. On error,
// everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stage, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CORSOrigins == nil {
		opts.CORSOrigins = DefaultCORSOrigins
	}
	if opts.FunctionLog == nil {
		opts.FunctionLog = io.Discard
	}
	if opts.Runtime == "" {
		if opts.Runtime, err = RuntimeFromEnv(); err != nil {
			return nil, err
		}
	}
	stack, err := readStack(stackName)
	if err != nil {
		return nil, err
	}
	// The bootstraps build while the servers start.
	var built chan error
	ls := lambdaState{runtime: opts.Runtime, stack: stack, aclMu: &sync.Mutex{}, streamsDone: &sync.WaitGroup{}}
	if opts.Runtime == Lambda {
		if ls.emulator, err = emulator.EmulatorPath(); err != nil {
			return nil, err
		}
		if ls.buildDir, err = os.MkdirTemp("", "shop-bootstraps-"); err != nil {
			return nil, err
		}
		built = make(chan error, 1)
		go func() {
			var err error
			ls.bootstraps, err = buildBootstraps(ctx, ls.buildDir)
			built <- err
		}()
	}
	users := newCacheUsers()
	set, err := servers.StartAll(ctx, servers.RedisOptions{ACL: users.acl()})
	if built != nil {
		if berr := <-built; berr != nil && err == nil {
			set.Stop()
			err = berr
		}
	}
	if err != nil {
		if ls.buildDir != "" {
			_ = os.RemoveAll(ls.buildDir)
		}
		return nil, err
	}
	s := &Stage{Servers: set, opts: opts, guard: access.NewGuard(tablePrefix, bucket), cacheUsers: users, originSecret: rand.Text(),
		settings:    map[string]string{manifest.EnvLogLevel: stack.LogLevel, manifest.EnvCartTTL: stack.CartTTL},
		lambdaState: ls}
	s.secrets, s.keyOf = functionKeys()
	if opts.UserLimits == nil {
		opts.UserLimits = GenerousUserLimits
		s.opts = opts
	}
	s.settings[manifest.EnvUserLimits] = manifest.UserLimitsSetting(opts.UserLimits)
	ln, err := listen(opts.Addr)
	if err != nil {
		set.Stop()
		return nil, err
	}
	direct, err := listen("")
	if err != nil {
		ln.Close()
		set.Stop()
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	s.APIEndpoint = "http://" + direct.Addr().String()
	defer func() {
		if err != nil {
			ln.Close()
			direct.Close()
			s.Close()
		}
	}()
	if err = s.serveDynamoDB(); err != nil {
		return nil, err
	}
	if err = s.serveS3(ctx); err != nil {
		return nil, err
	}
	if s.Admin, err = s.newAdminClients(ctx); err != nil {
		return nil, err
	}
	for _, t := range tables.All {
		if err := CreateTable(ctx, s.Admin.DynamoDB, t, tablePrefix+t.Name); err != nil {
			return nil, err
		}
	}
	if err := CreateBucket(ctx, s.Admin.S3, bucket); err != nil {
		return nil, err
	}
	// In Lambda mode the products table's stream feeds the invalidator, as its event source
	// mapping does in the cloud.
	if s.runtime == Lambda {
		if err := s.startStreams(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Seed {
		if err := Seed(ctx, s.Admin); err != nil {
			return nil, err
		}
	}
	if s.Issuer, err = gateway.NewIssuer(Issuer, Audience, manifest.MaxTokenLifetime); err != nil {
		return nil, err
	}
	gw, pools, err := s.newGateway(ctx, s.EnvVars)
	if err != nil {
		return nil, err
	}
	s.gatewayPools = pools
	s.serve(gateway.JSONRefusals(ln), s.edgeWith(opts.EdgeRates, s.withMiddleware(gw)))
	// The bare gateway, as the execute-api endpoint: outside the API's contract (its
	// functions refuse every request without the origin header), so no middleware.
	s.serve(gateway.JSONRefusals(direct), gw)
	if opts.Seed && opts.SeedImages {
		if err := s.SeedImages(ctx, s.URL); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newGateway builds every HTTP function with the environment envFor gives it, and a
// gateway serving the route table over them: in Lambda mode each function's environments
// (emulator.Pool, returned by function name), in-process separate instances with their own
// clients.
func (s *Stage) newGateway(ctx context.Context, envFor func(manifest.Function) map[string]string) (*gateway.Gateway, map[string]*emulator.Pool, error) {
	// Every function refuses requests that did not pass the edge, as in the cloud: in
	// Lambda mode it checks the verifiers in its environment itself (lambdaEnv), in-process
	// the stage wraps its handler with the same check.
	check, err := origin.New(s.originVerifiers())
	if err != nil {
		return nil, nil, err
	}
	handlers := map[string]gateway.Handler{}
	pools := map[string]*emulator.Pool{}
	for name, build := range httpFunctions {
		fn, ok := manifest.FunctionByName(name)
		if !ok {
			return nil, nil, fmt.Errorf("function %q is not in the route table's function list", name)
		}
		if s.runtime == Lambda {
			p, err := s.newPool(fn, envFor(fn))
			if err != nil {
				return nil, nil, err
			}
			handlers[name] = p.HTTP
			pools[name] = p
			continue
		}
		env := envFor(fn)
		c, err := s.functionClients(ctx, fn, func(k string) string { return env[k] })
		if err != nil {
			return nil, nil, fmt.Errorf("function %s: %w", name, err)
		}
		router, err := build(ctx, c)
		if err != nil {
			return nil, nil, fmt.Errorf("function %s: %w", name, err)
		}
		// Behind the per-user limits, as the function's main puts it.
		if router, err = ratelimit.Apply(c, env[manifest.EnvUserLimits], router); err != nil {
			return nil, nil, fmt.Errorf("function %s: %w", name, err)
		}
		handlers[name] = check.Wrap(router.Handle)
	}
	// Every route of the table is served, or the stage does not start: a route exists in
	// both gateways or in neither.
	gw, err := gateway.New(manifest.All, handlers, s.Issuer, s.opts.Logger)
	if err != nil {
		return nil, nil, err
	}
	gw.AllowOrigins(s.opts.CORSOrigins...)
	if err := gw.Handle("POST /_local/token", gateway.TokenHandler(s.Issuer, manifest.MaxTokenLifetime)); err != nil {
		return nil, nil, err
	}
	if err := gw.Handle("GET /_local/images/{key...}", s.imagesHandler()); err != nil {
		return nil, nil, err
	}
	if err := handleDocs(gw); err != nil {
		return nil, nil, err
	}
	return gw, pools, nil
}

func (s *Stage) withMiddleware(gw http.Handler) http.Handler {
	if s.opts.Middleware == nil {
		return gw
	}
	return s.opts.Middleware(gw)
}

func (s *Stage) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn)}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// ServeNaive serves a second gateway over the same servers and data in which no function has
// a cache, so every read is a DynamoDB read: the article's design, for comparison. It
// returns the gateway's base URL; it stops with the stage.
func (s *Stage) ServeNaive(ctx context.Context) (string, error) {
	return s.serveAnother(ctx, func(fn manifest.Function) map[string]string {
		env := s.EnvVars(fn)
		delete(env, manifest.EnvRedisAddr)
		return env
	}, nil)
}

// serveAnother serves a second gateway, behind the stage's edge (with the per-address rate
// rules rates, where given) and middleware, whose functions get the environments envFor
// gives; it returns its base URL.
func (s *Stage) serveAnother(ctx context.Context, envFor func(manifest.Function) map[string]string, rates *gateway.AddressRates) (string, error) {
	gw, _, err := s.newGateway(ctx, envFor)
	if err != nil {
		return "", err
	}
	ln, err := listen("")
	if err != nil {
		return "", err
	}
	s.serve(gateway.JSONRefusals(ln), s.edgeWith(rates, s.withMiddleware(gw)))
	return "http://" + ln.Addr().String(), nil
}

// ServeWithUserLimits serves a second gateway over the same servers and data whose
// functions have the per-user limits limits; it returns the gateway's base URL (behind the
// stage's edge and middleware); it stops with the stage.
func (s *Stage) ServeWithUserLimits(ctx context.Context, limits map[string]manifest.UserLimit) (string, error) {
	setting := manifest.UserLimitsSetting(limits)
	return s.serveAnother(ctx, func(fn manifest.Function) map[string]string {
		env := s.EnvVars(fn)
		if _, ok := env[manifest.EnvUserLimits]; ok {
			env[manifest.EnvUserLimits] = setting
		}
		return env
	}, nil)
}

// ServeWithoutUserLimits serves a second gateway over the same servers and data whose
// functions have no limiter at all, as a stack without per-user limits would run them (not
// even the limiter's round trip to Redis); it returns the gateway's base URL (behind the
// stage's edge and middleware); it stops with the stage.
func (s *Stage) ServeWithoutUserLimits(ctx context.Context) (string, error) {
	return s.serveAnother(ctx, func(fn manifest.Function) map[string]string {
		env := s.EnvVars(fn)
		// Without its address a function's limiter limits nothing (clients.Config.Limiter).
		for k := range env {
			if strings.HasPrefix(k, manifest.LimiterEnvPrefix) {
				delete(env, k)
			}
		}
		return env
	}, nil)
}

// ServeWithEdgeRates serves a second gateway over the same servers and data behind an edge
// with the per-address rate rules rates; it returns the gateway's base URL; it stops with
// the stage.
func (s *Stage) ServeWithEdgeRates(ctx context.Context, rates gateway.AddressRates) (string, error) {
	return s.serveAnother(ctx, s.EnvVars, &rates)
}

// edgeWith is edge with the WAF's per-address rate rules in front where rates are given.
func (s *Stage) edgeWith(rates *gateway.AddressRates, gw http.Handler) http.Handler {
	h := s.edge(gw)
	if rates != nil {
		h = gateway.AddressRateRules(*rates)(h)
	}
	return h
}

// GenerousUserLimits are per-user limits no test or benchmark of one user reaches.
var GenerousUserLimits = func() map[string]manifest.UserLimit {
	out := map[string]manifest.UserLimit{}
	for _, name := range manifest.LimitNames() {
		out[name] = manifest.UserLimit{PerMinute: 1_000_000, Burst: 1_000_000}
	}
	return out
}()

// originVerifiers are what the functions check the stage's origin header against, as the
// program sets them on each Lambda.
func (s *Stage) originVerifiers() string { return manifest.OriginVerifiers(s.originSecret) }

// edge plays CloudFront in front of the gateway: it sets the origin header on every
// request, replacing one a client sent, as CloudFront replaces a viewer's header of the
// name of a custom origin header.
func (s *Stage) edge(gw http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(manifest.OriginHeader, s.originSecret)
		gw.ServeHTTP(w, r)
	})
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Env is the environment of fn on this stage: the variables the infrastructure program sets
// in the cloud, pointing at the local servers, for exactly the resources fn may use.
func (s *Stage) Env(fn manifest.Function) clients.Env {
	env := s.EnvVars(fn)
	return func(k string) string { return env[k] }
}

// EnvVars is Env as a map, to start a function's binary with: the environment its entry in
// functions/manifest implies, with the stage's settings, its resources' local names and its
// cache user's password, and the SDK's region, credentials and endpoints of the local servers.
// In Lambda mode that is all (lambdaEnv). In-process, one instance stands in for as many
// Lambda environments as requests are in flight, each of which would have its own clients:
// it is sized for that.
func (s *Stage) EnvVars(fn manifest.Function) map[string]string {
	if s.runtime == Lambda {
		return s.lambdaEnv(fn)
	}
	env := manifest.Environment(fn, s.links())
	maps.Copy(env, s.awsEnv(fn))
	env[manifest.EnvConcurrentRequests] = strconv.Itoa(concurrentRequests)
	if fn.Cache != nil {
		env[manifest.EnvRedisPoolSize] = strconv.Itoa(concurrentRequests)
		env[manifest.EnvRedisTimeout] = "1s"
	}
	if fn.LimiterAccess() != nil {
		env[manifest.LimiterEnvPrefix+manifest.EnvRedisPoolSize] = strconv.Itoa(concurrentRequests)
		env[manifest.LimiterEnvPrefix+manifest.EnvRedisTimeout] = "1s"
	}
	return env
}

// LambdaEnvVars is fn's environment in Lambda mode whatever the stage's runtime: what its
// bootstrap is started with in an environment, the origin secret's verifiers included, so
// it checks the edge's header as in the cloud.
func (s *Stage) LambdaEnvVars(fn manifest.Function) map[string]string { return s.lambdaEnv(fn) }

// links are what the stage's servers put into a function's environment.
func (s *Stage) links() manifest.Links[string] {
	return manifest.Links[string]{
		Settings: s.settings,
		Table:    func(t tables.Table) string { return tablePrefix + t.Name },
		Bucket: map[string]string{
			manifest.EnvImagesBucket:  bucket,
			manifest.EnvImagesBaseURL: s.ImagesBaseURL(),
		},
		// Its own ACL user, with the access string its ElastiCache user has in the cloud.
		Cache: func(user string) map[string]string {
			return map[string]string{
				manifest.EnvRedisAddr: s.Servers.Redis.Addr,
				// One node without TLS, where the cloud's is one node with TLS.
				manifest.EnvRedisTLS:      "false",
				manifest.EnvRedisCluster:  "false",
				manifest.EnvRedisUser:     user,
				manifest.EnvRedisPassword: s.cacheUsers[user],
			}
		},
	}
}

// awsEnv points the SDK at the local servers with fn's credentials (the stage's own for
// the admin).
func (s *Stage) awsEnv(fn manifest.Function) map[string]string {
	id, secret := accessKey, secretKey
	if k, ok := s.keyOf[fn.Name]; ok {
		id, secret = k, s.secrets[k]
	}
	return map[string]string{
		"AWS_REGION":            region,
		"AWS_ACCESS_KEY_ID":     id,
		"AWS_SECRET_ACCESS_KEY": secret,
		// Each function's own path, by which the endpoint counts its requests.
		"AWS_ENDPOINT_URL_DYNAMODB": s.dynamoURL + "/" + fn.Name,
		"AWS_ENDPOINT_URL_S3":       s.s3URL,
	}
}

// S3URL is the S3 endpoint functions get, so also where presigned upload URLs point.
func (s *Stage) S3URL() string { return s.s3URL }

// ImagesBaseURL is where the stage serves stored images, as CloudFront does in the cloud.
func (s *Stage) ImagesBaseURL() string { return s.URL + "/_local/images" }

func (s *Stage) adminEnv() clients.Env {
	all := manifest.Function{Name: cacheAdmin, Bucket: []manifest.ObjectGrant{{Prefix: ""}}, Cache: &manifest.CacheAccess{}}
	for _, t := range tables.All {
		all.Tables = append(all.Tables, manifest.TableGrant{Table: t})
	}
	return s.Env(all)
}

// FunctionClients builds the clients of one instance of fn, as its Lambda main does, with
// the environment the stage gives it: its AWS requests pass the stage's IAM (Access, at
// the servers, which know fn by its endpoint and credentials), its cache connection is its
// own ACL user. They are closed with the stage.
func (s *Stage) FunctionClients(ctx context.Context, fn manifest.Function) (*clients.Clients, error) {
	return s.functionClients(ctx, fn, s.Env(fn))
}

func (s *Stage) functionClients(ctx context.Context, fn manifest.Function, env clients.Env) (*clients.Clients, error) {
	c, err := s.newClients(ctx, &fn, env)
	if err != nil {
		return nil, err
	}
	if wrap := s.opts.DynamoDBClient; wrap != nil {
		c.WrapHTTP = func(k clients.Kind, h aws.HTTPClient) aws.HTTPClient {
			if k == clients.DynamoDB {
				return wrap(fn.Name, h)
			}
			return h
		}
	}
	if fn.Cache != nil && c.Config.Redis.Addr != "" {
		rdb, err := redisclient.Of(c)
		if err != nil {
			return nil, err
		}
		s.guard.WatchRedis(fn, rdb)
	}
	return c, nil
}

// AdminClients are the clients of the stage's all-access identity.
type AdminClients struct {
	*clients.Clients
	DynamoDB *dynamodb.Client
	S3       *s3.Client
	Redis    redis.UniversalClient
}

func (s *Stage) newAdminClients(ctx context.Context) (*AdminClients, error) {
	c, err := s.newClients(ctx, nil, s.adminEnv())
	if err != nil {
		return nil, err
	}
	a := &AdminClients{Clients: c}
	if a.DynamoDB, err = dynamoclient.Of(c); err != nil {
		return nil, err
	}
	if a.S3, err = s3client.Of(c); err != nil {
		return nil, err
	}
	if a.Redis, err = redisclient.Of(c); err != nil {
		return nil, err
	}
	return a, nil
}

// Access is the stage's IAM: it refuses each function's AWS requests that its entry in
// functions/manifest does not grant, knows which grants the requests used, and which cache
// commands the functions' Redis users were refused.
func (s *Stage) Access() *access.Guard { return s.guard }

// newClients builds the clients of fn (only those its entry declares), or of any kind where
// fn is nil.
func (s *Stage) newClients(ctx context.Context, fn *manifest.Function, env clients.Env) (*clients.Clients, error) {
	cfg, err := clients.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	var c *clients.Clients
	if fn != nil {
		c, err = clients.NewFor(ctx, *fn, cfg, env)
	} else {
		c, err = clients.New(ctx, cfg, env)
	}
	if err != nil {
		return nil, err
	}
	s.clients = append(s.clients, c)
	return c, nil
}

// RedisAdmin is the user and password of the stage's all-access cache user.
func (s *Stage) RedisAdmin() (user, password string) { return cacheAdmin, s.cacheUsers[cacheAdmin] }

// Token issues a bearer token for sub in groups, as POST /_local/token does.
func (s *Stage) Token(sub string, groups ...string) (string, error) {
	return s.Issuer.Issue(sub, groups, manifest.MaxTokenLifetime)
}

// Close stops the gateway, every function's environments and every server; safe to call
// more than once.
func (s *Stage) Close() {
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	s.servers = nil
	s.closePools()
	for _, c := range s.clients {
		_ = c.Close()
	}
	s.clients = nil
	if s.Servers != nil {
		s.Servers.Stop()
	}
}
