// Command catalogadmin is the Lambda function behind the admins' catalog writes (products
// and their images).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartHTTP(manifest.CatalogAdmin, catalogadmin.Function) }
