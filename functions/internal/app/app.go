// Package app is the shared main of the shop's functions: it configures JSON logging, has
// the function's clients built once per Lambda environment (by its builder, during init,
// never in a request) and starts the runtime. A function gets only the clients its entry in functions/manifest declares, and
// links only their SDK packages (each is built by a package of its own, which the function's
// code imports), so a cold start runs no package initialisation of SDK code it never calls.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/manifest"
)

// HTTPFunction builds a function's router from its clients.
type HTTPFunction func(ctx context.Context, c *clients.Clients) (api.Router, error)

// Setup configures logging and returns the clients of the function name, from the process
// environment: the AWS configuration, from which its builder builds the service clients its
// manifest entry declares (and no other). It exits the process on a configuration error,
// which Lambda reports as an init failure.
func Setup(ctx context.Context, name string) *clients.Clients {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv(manifest.EnvLogLevel)))
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})))
	fn, ok := manifest.FunctionByName(name)
	if !ok {
		Fatal("configuration", fmt.Errorf("function %q is not in the manifest", name))
	}
	cfg, err := clients.LoadConfig(os.Getenv)
	if err != nil {
		Fatal("configuration", err)
	}
	c, err := clients.NewFor(ctx, fn, cfg, os.Getenv)
	if err != nil {
		Fatal("clients", err)
	}
	return c
}

// StreamHandler handles one batch of a DynamoDB stream. An error fails the batch, which
// Lambda retries (a stream's records are processed in order).
type StreamHandler func(ctx context.Context, ev events.DynamoDBEvent) error

// StreamFunction builds a stream-fed function's handler from its clients.
type StreamFunction func(ctx context.Context, c *clients.Clients) (StreamHandler, error)

// StartStream is the main of the function name, fed by a DynamoDB stream.
func StartStream(name string, build StreamFunction) { start(name, build) }

// S3Function builds a function fed by S3 event notifications from its clients. Its handler
// takes one batch of notifications; an error fails the invocation, which Lambda retries (S3
// invokes asynchronously).
type S3Function func(ctx context.Context, c *clients.Clients) (func(context.Context, events.S3Event) error, error)

// StartS3 is the main of the function name, fed by S3 event notifications.
func StartS3(name string, build S3Function) { start(name, build) }

// start builds an event-fed function's handler once and serves it.
func start[H any](name string, build func(context.Context, *clients.Clients) (H, error)) {
	ctx := context.Background()
	handle, err := build(ctx, Setup(ctx, name))
	if err != nil {
		Fatal("init", err)
	}
	lambda.Start(handle)
}

// Fatal logs why the function cannot start and exits, which Lambda reports as an init
// failure.
func Fatal(what string, err error) {
	slog.Error("function cannot start", "stage", what, "err", err)
	os.Exit(1)
}
