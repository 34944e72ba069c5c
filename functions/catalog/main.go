// Command catalog is the Lambda function behind the catalog reads (GET /products, GET /products/{productId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/catalog"
)

func main() { app.StartHTTP(catalog.Function) }
