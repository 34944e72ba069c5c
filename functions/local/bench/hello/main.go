// Command hello is the smallest aws-lambda-go function: the reference the shop's functions'
// cold starts are measured against.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
