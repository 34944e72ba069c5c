// Command health is the Lambda function behind GET /health.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/health"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.Health, health.Function) }
