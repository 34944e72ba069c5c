package clients

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// How the SDK clients retry a failed call (DynamoDB's InternalServerError, throttling, a
// lost connection). A shopper is waiting, so the backoff is short and capped well below the
// SDK's 20 s.
const (
	// RetryMaxAttempts is how many times a call is sent at most.
	RetryMaxAttempts = 5
	retryBaseDelay   = 25 * time.Millisecond
	retryMaxBackoff  = time.Second
	// RetryQuotaRequests is how many calls in a row may fail every attempt before a client
	// stops retrying (until successes refill its quota): a store that keeps failing is not
	// hammered with retries. The quota is this much per request the process serves at once,
	// so a local process standing in for many Lambda environments does not run dry for all
	// of them when a few contend.
	RetryQuotaRequests = 10
)

// newRetryer returns the retry policy of one SDK client of a process serving concurrent
// requests at once.
func newRetryer(concurrent int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = RetryMaxAttempts
		o.BaseDelay = retryBaseDelay
		o.MaxBackoff = retryMaxBackoff
		perRequest := uint(RetryQuotaRequests*(RetryMaxAttempts-1)) * o.RetryCost
		o.RateLimiter = ratelimit.NewTokenRateLimit(uint(concurrent) * perRequest)
	})
}

// AnswerTransientAsUnavailable makes a call that failed for a reason that may pass (the
// retryer's retryable errors, after its attempts or its quota ran out, and the request's
// deadline) fail with api.ErrUnavailable, which the contract answers with 503 and
// Retry-After, never 500. The SDK's error stays in the chain, for the log and for errors.As.
func AnswerTransientAsUnavailable(retryer aws.Retryer) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("AnswerTransientAsUnavailable",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil && (retryer.IsErrorRetryable(err) || errors.Is(err, context.DeadlineExceeded)) {
					err = fmt.Errorf("%w: %w", api.ErrUnavailable, err)
				}
				return out, md, err
			}), middleware.Before)
	}
}
