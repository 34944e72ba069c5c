// Command invalidator is the Lambda function the products table's stream feeds: it evicts
// the cached copy of every product that changed, also by writes that bypass the API.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartStream(manifest.Invalidator, invalidator.Function) }
