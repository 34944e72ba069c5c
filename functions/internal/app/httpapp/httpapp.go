// Package httpapp is the main of the shop's HTTP functions: app's, with the origin check in
// front of the router, which the functions an event source invokes do not link.
package httpapp

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/origin"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Start is the main of the HTTP function name. Where the environment holds the origin
// secret's verifiers (always, in the cloud), requests that did not come through the edge
// are refused before the router sees them.
func Start(name string, build app.HTTPFunction) {
	ctx := context.Background()
	c := app.Setup(ctx, name)
	router, err := build(ctx, c)
	if err != nil {
		app.Fatal("init", err)
	}
	handle := router.Handle
	if verifiers := os.Getenv(manifest.EnvOriginVerifiers); verifiers != "" {
		check, err := origin.New(verifiers)
		if err != nil {
			app.Fatal("origin verifiers", err)
		}
		handle = check.Wrap(handle)
	}
	lambda.Start(handle)
}
