// Command imagecheck is the Lambda function the images bucket's object-created events feed
// for browser uploads: it checks the uploaded bytes and publishes a good image as the
// product's image, or deletes the upload.
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartS3(manifest.ImageCheck, catalogadmin.CheckFunction) }
