// Command reviews is the Lambda function behind product reviews.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.Reviews, ratelimit.Limited(reviews.Function)) }
