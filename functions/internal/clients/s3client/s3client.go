// Package s3client builds a function's S3 client. It is a package of its own so that only
// the functions that declare the bucket link the S3 SDK.
package s3client

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/internal/clients"
)

// Of returns c's S3 client, building it the first time; it fails when the function
// declares no bucket grant.
func Of(c *clients.Clients) (*s3.Client, error) {
	return clients.Get(c, clients.S3, func() (*s3.Client, error) {
		return s3.NewFromConfig(c.AWS, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, clients.AnswerTransientAsUnavailable(o.Retryer))
			if c.Config.S3Endpoint != "" {
				o.BaseEndpoint = aws.String(c.Config.S3Endpoint)
				o.UsePathStyle = true
			}
			o.HTTPClient = c.HTTPClient(clients.S3, o.HTTPClient)
		}), nil
	})
}
