package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs the local stage's tokens (RS256) and verifies bearer tokens as API Gateway's
// JWT authorizer verifies the real issuer's: signature, issuer, audience and expiry.
type Issuer struct {
	key      *rsa.PrivateKey
	issuer   string
	audience string
	parser   *jwt.Parser
}

// NewIssuer creates an issuer with a fresh RSA key.
func NewIssuer(issuer, audience string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &Issuer{
		key: key, issuer: issuer, audience: audience,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
		),
	}, nil
}

// TokenClaims are the claims of a local token; the shape follows Cognito's ID tokens.
type TokenClaims struct {
	Groups []string `json:"cognito:groups,omitempty"`
	jwt.RegisteredClaims
}

// Issue signs a token for sub with groups, valid for ttl.
func (i *Issuer) Issue(sub string, groups []string, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := TokenClaims{
		Groups: groups,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   sub,
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return i.Sign(claims)
}

// Sign signs arbitrary claims with the issuer's key (tests use it for expired or foreign tokens).
func (i *Issuer) Sign(claims jwt.Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(i.key)
}

// Verify checks token and returns its claims.
func (i *Issuer) Verify(token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := i.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return &i.key.PublicKey, nil
	})
	if err != nil {
		return nil, err
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, errors.New("token has no sub claim")
	}
	return claims, nil
}
