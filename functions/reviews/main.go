// Command reviews is the Lambda function behind product reviews.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartHTTP(manifest.Reviews, reviews.Function) }
