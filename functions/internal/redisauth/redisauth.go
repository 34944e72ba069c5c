// Package redisauth signs the short-lived IAM authentication tokens with which the functions
// connect to ElastiCache (Valkey or Redis OSS) as an RBAC user, so no static password exists.
//
// A token is a SigV4-presigned request, "GET http://<cache>/?Action=connect&User=<user>",
// for the service "elasticache", with the "http://" prefix removed. ElastiCache accepts it as
// the AUTH password for 15 minutes. The functions' role needs elasticache:Connect on the cache
// and on the user.
package redisauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	// TokenLifetime is how long ElastiCache accepts a token (X-Amz-Expires).
	TokenLifetime = 15 * time.Minute
	// RefreshAfter is how long a signed token is reused; the margin to TokenLifetime covers
	// connections opened just before the refresh and clock skew.
	RefreshAfter = 10 * time.Minute

	service = "elasticache"
	// emptyPayloadHash is the SHA-256 of an empty body: the connect request has none.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// NewTokenProvider returns a credentials provider for go-redis
// (redis.Options.CredentialsProviderContext) that answers the RBAC user id and a signed IAM
// token. cacheName is the replication group id or the serverless cache name; serverless must
// be true for a serverless cache. Tokens are signed with cfg's credentials and region and
// reused for RefreshAfter, so a burst of new connections signs once.
func NewTokenProvider(cfg aws.Config, cacheName, userID string, serverless bool) func(ctx context.Context) (username, password string, err error) {
	return newTokenProvider(cfg, cacheName, userID, serverless).credentials
}

func newTokenProvider(cfg aws.Config, cacheName, userID string, serverless bool) *tokenProvider {
	return &tokenProvider{
		creds:      cfg.Credentials,
		region:     cfg.Region,
		cacheName:  strings.ToLower(cacheName),
		userID:     userID,
		serverless: serverless,
		signer:     v4.NewSigner(),
		now:        time.Now,
	}
}

type tokenProvider struct {
	creds      aws.CredentialsProvider
	region     string
	cacheName  string
	userID     string
	serverless bool
	signer     *v4.Signer
	now        func() time.Time

	mu       sync.Mutex
	token    string
	signedAt time.Time
}

func (p *tokenProvider) credentials(ctx context.Context) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.token != "" && now.Sub(p.signedAt) < RefreshAfter && !now.Before(p.signedAt) {
		return p.userID, p.token, nil
	}
	token, err := p.sign(ctx, now)
	if err != nil {
		return "", "", err
	}
	p.token, p.signedAt = token, now
	return p.userID, token, nil
}

// sign presigns the connect request at the given time.
func (p *tokenProvider) sign(ctx context.Context, at time.Time) (string, error) {
	switch {
	case p.creds == nil:
		return "", errors.New("redis iam token: no AWS credentials configured")
	case p.region == "":
		return "", errors.New("redis iam token: no AWS region configured")
	case p.cacheName == "" || p.userID == "":
		return "", errors.New("redis iam token: cache name and user id are required")
	}
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("redis iam token: retrieve credentials: %w", err)
	}
	q := url.Values{}
	q.Set("Action", "connect")
	q.Set("User", p.userID)
	if p.serverless {
		q.Set("ResourceType", "ServerlessCache")
	}
	q.Set("X-Amz-Expires", strconv.Itoa(int(TokenLifetime/time.Second)))
	u := url.URL{Scheme: "http", Host: p.cacheName, Path: "/", RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("redis iam token: %w", err)
	}
	signed, _, err := p.signer.PresignHTTP(ctx, creds, req, emptyPayloadHash, service, p.region, at.UTC())
	if err != nil {
		return "", fmt.Errorf("redis iam token: presign: %w", err)
	}
	return strings.TrimPrefix(signed, "http://"), nil
}
