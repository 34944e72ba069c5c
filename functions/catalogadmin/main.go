// Command catalogadmin is the Lambda function behind the admins' catalog writes (products
// and their images).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.CatalogAdmin, ratelimit.Limited(catalogadmin.Function)) }
