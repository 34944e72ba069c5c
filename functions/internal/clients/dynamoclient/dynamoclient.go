// Package dynamoclient builds a function's DynamoDB client. It is a package of its own so
// that only the functions that declare tables link the DynamoDB SDK (and run its package
// initialisation at every cold start).
package dynamoclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shop-serverless/shop/functions/internal/clients"
)

// Of returns c's DynamoDB client, building it the first time; it fails when the function
// declares no table.
func Of(c *clients.Clients) (*dynamodb.Client, error) {
	return clients.Get(c, clients.DynamoDB, func() (*dynamodb.Client, error) {
		return dynamodb.NewFromConfig(c.AWS, func(o *dynamodb.Options) {
			o.APIOptions = append(o.APIOptions, clients.AnswerTransientAsUnavailable(o.Retryer))
			if c.Config.DynamoDBEndpoint != "" {
				o.BaseEndpoint = aws.String(c.Config.DynamoDBEndpoint)
			}
			o.HTTPClient = c.HTTPClient(clients.DynamoDB, o.HTTPClient)
		}), nil
	})
}

// Set makes db c's DynamoDB client.
func Set(c *clients.Clients, db *dynamodb.Client) { clients.Set(c, clients.DynamoDB, db) }
