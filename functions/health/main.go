// Command health is the Lambda function behind GET /health.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/health"
)

func main() { app.StartHTTP(health.Function) }
