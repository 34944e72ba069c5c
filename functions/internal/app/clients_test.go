package app_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/internal/health"
	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// builders are what each functions/<name>/main.go passes to app.Start*.
var builders = map[string]func(context.Context, *clients.Clients) error{
	manifest.Health:       ignore(health.Function),
	manifest.Catalog:      ignore(catalog.Function),
	manifest.CatalogAdmin: ignore(catalogadmin.Function),
	manifest.Reviews:      ignore(reviews.Function),
	manifest.Cart:         ignore(cart.Function),
	manifest.Orders:       ignore(orders.Function),
	manifest.Invalidator:  ignore(invalidator.Function),
	manifest.ImageCheck:   ignore(catalogadmin.CheckFunction),
}

func ignore[H any](build func(context.Context, *clients.Clients) (H, error)) func(context.Context, *clients.Clients) error {
	return func(ctx context.Context, c *clients.Clients) error {
		_, err := build(ctx, c)
		return err
	}
}

// env is fn's environment as manifest.Environment gives it, with values shaped like a
// stage's; the cache address is never dialled (a client connects on its first command).
func env(fn manifest.Function) clients.Env {
	vars := manifest.Environment(fn, manifest.Links[string]{
		Settings: map[string]string{manifest.EnvLogLevel: "error", manifest.EnvCartTTL: "720h"},
		Table:    func(t tables.Table) string { return "shop-test-" + t.Name },
		Bucket:   map[string]string{manifest.EnvImagesBucket: "shop-test-images", manifest.EnvImagesBaseURL: "https://d111111abcdef8.cloudfront.net"},
		Cache: func(user string) map[string]string {
			return map[string]string{manifest.EnvRedisAddr: "127.0.0.1:1", manifest.EnvRedisUser: user}
		},
	})
	vars["AWS_REGION"], vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"] = "us-east-1", "AKIAIOSFODNN7EXAMPLE", "test"
	return func(k string) string { return vars[k] }
}

func newClients(t *testing.T, fn manifest.Function, e clients.Env) *clients.Clients {
	t.Helper()
	cfg, err := clients.LoadConfig(e)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.NewFor(context.Background(), fn, cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Each function builds exactly the clients its entry declares (DynamoDB for tables, S3 for
// the bucket, Redis for a cache user), and cannot build one it does not declare.
func TestFunctionsBuildTheirDeclaredClients(t *testing.T) {
	for _, fn := range manifest.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			build, ok := builders[fn.Name]
			if !ok {
				t.Fatalf("no builder for %s", fn.Name)
			}
			c := newClients(t, fn, env(fn))
			if err := build(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			// The limiter's connection, as ratelimit.Limited builds it in the main.
			if fn.LimiterAccess() != nil {
				if rdb, err := redisclient.LimiterOf(c); err != nil || rdb == nil {
					t.Fatalf("limiter: %v, %v", rdb, err)
				}
			}
			want := slices.Sorted(slices.Values(clients.Declared(fn)))
			if got := c.Built(); !slices.Equal(got, want) {
				t.Errorf("built %v, the manifest declares %v", got, want)
			}
			if len(want) == 0 {
				return
			}
			// The same environment, but an entry that declares nothing: the builder fails
			// rather than build a client the function's grants do not cover.
			bare := newClients(t, manifest.Function{Name: fn.Name}, env(fn))
			if err := build(context.Background(), bare); err == nil {
				t.Errorf("built with no declared client: %v", bare.Built())
			}
		})
	}
	if len(builders) != len(manifest.Functions) {
		t.Errorf("%d builders for %d functions", len(builders), len(manifest.Functions))
	}
}

// neverLinked are SDK packages no function links: the SSM client (the origin check reads
// verifiers from the environment, no parameter); the SDK's configuration chain with the
// clients it links for credentials Lambda never gets from them (clients.New reads Lambda's
// variables instead); and the schemas of DynamoDB's schema-based serialisation, which
// go.mod keeps out by the versions it requires.
var neverLinked = []string{
	"github.com/aws/aws-sdk-go-v2/service/ssm",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds",
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/signin",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas",
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/schemas",
}

// A function's binary links the SDK package of a client only when its entry declares that
// client, and none of neverLinked: a linked package runs its initialisation at every cold
// start, called or not.
func TestFunctionsLinkOnlyTheirDeclaredClients(t *testing.T) {
	pkgs := map[clients.Kind]string{
		clients.DynamoDB: "github.com/aws/aws-sdk-go-v2/service/dynamodb",
		clients.S3:       "github.com/aws/aws-sdk-go-v2/service/s3",
		clients.Redis:    "github.com/redis/go-redis/v9",
	}
	for _, fn := range manifest.Functions {
		t.Run(fn.Name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "github.com/shop-serverless/shop/functions/"+fn.Name)
			cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOOS=linux")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, pkg := range neverLinked {
				if slices.Contains(deps, pkg) {
					t.Errorf("links %s", pkg)
				}
			}
			for kind, pkg := range pkgs {
				declared := slices.Contains(clients.Declared(fn), kind)
				if kind == clients.Redis {
					// The limiter's connection is go-redis too.
					declared = declared || slices.Contains(clients.Declared(fn), clients.Limiter)
				}
				if linked := slices.Contains(deps, pkg); linked != declared {
					t.Errorf("links %s: %v; declares a %s client: %v", pkg, linked, kind, declared)
				}
			}
		})
	}
}
