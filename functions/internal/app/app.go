// Package app is the shared main of the shop's HTTP functions: it configures JSON logging,
// builds the clients once per Lambda environment (outside the handler) and starts the runtime.
package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/origin"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/manifest"
)

// HTTPFunction builds a function's router from its clients.
type HTTPFunction func(ctx context.Context, c *clients.Clients) (api.Router, error)

// Setup configures logging and builds the clients from the process environment; it exits
// the process on a configuration error, which Lambda reports as an init failure.
func Setup(ctx context.Context) *clients.Clients {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv(manifest.EnvLogLevel)))
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})))
	cfg, err := clients.LoadConfig(os.Getenv)
	if err != nil {
		fatal("configuration", err)
	}
	c, err := clients.New(ctx, cfg, os.Getenv)
	if err != nil {
		fatal("clients", err)
	}
	return c
}

// StartHTTP is the main of an HTTP function. Where the environment names the origin
// secret's parameter (always, in the cloud), requests that did not come through the edge
// are refused before the router sees them.
func StartHTTP(build HTTPFunction) {
	ctx := context.Background()
	c := Setup(ctx)
	router, err := build(ctx, c)
	if err != nil {
		fatal("init", err)
	}
	if router, err = ratelimit.Limit(c.Limiter, os.Getenv(manifest.EnvUserLimits), router); err != nil {
		fatal("rate limits", err)
	}
	handle := router.Handle
	if name := os.Getenv(manifest.EnvOriginSecretParameter); name != "" {
		check, err := origin.Load(ctx, ssm.NewFromConfig(c.AWS), name)
		if err != nil {
			fatal("origin secret", err)
		}
		handle = check.Wrap(handle)
	}
	lambda.Start(handle)
}

// StreamHandler handles one batch of a DynamoDB stream. An error fails the batch, which
// Lambda retries (a stream's records are processed in order).
type StreamHandler func(ctx context.Context, ev events.DynamoDBEvent) error

// StreamFunction builds a stream-fed function's handler from its clients.
type StreamFunction func(ctx context.Context, c *clients.Clients) (StreamHandler, error)

// StartStream is the main of a function fed by a DynamoDB stream.
func StartStream(build StreamFunction) { start(build) }

// S3Function builds a function fed by S3 event notifications from its clients. Its handler
// takes one batch of notifications; an error fails the invocation, which Lambda retries (S3
// invokes asynchronously).
type S3Function func(ctx context.Context, c *clients.Clients) (func(context.Context, events.S3Event) error, error)

// StartS3 is the main of a function fed by S3 event notifications.
func StartS3(build S3Function) { start(build) }

// start builds an event-fed function's handler once and serves it.
func start[H any](build func(context.Context, *clients.Clients) (H, error)) {
	ctx := context.Background()
	handle, err := build(ctx, Setup(ctx))
	if err != nil {
		fatal("init", err)
	}
	lambda.Start(handle)
}

func fatal(what string, err error) {
	slog.Error("function cannot start", "stage", what, "err", err)
	os.Exit(1)
}
