package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs the local stage's tokens (RS256) and verifies bearer tokens as API Gateway's
// JWT authorizer verifies the real issuer's: signature, issuer, expiry, and an "aud" or
// "client_id" claim naming the audience. It also refuses tokens without "iat" or living
// longer than the stage's maximum, as the functions do.
type Issuer struct {
	key         *rsa.PrivateKey
	issuer      string
	audience    string
	maxLifetime time.Duration
	parser      *jwt.Parser
}

// NewIssuer creates an issuer with a fresh RSA key whose tokens may live at most maxLifetime.
func NewIssuer(issuer, audience string, maxLifetime time.Duration) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &Issuer{
		key: key, issuer: issuer, audience: audience, maxLifetime: maxLifetime,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
		),
	}, nil
}

// TokenClaims are the claims of a local token; the shape follows Cognito's access tokens,
// which name the app client in "client_id" and carry no "aud".
type TokenClaims struct {
	Groups   []string `json:"cognito:groups,omitempty"`
	TokenUse string   `json:"token_use,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	jwt.RegisteredClaims
}

// Issue signs an access token for sub with groups, valid for ttl (at most the maximum).
func (i *Issuer) Issue(sub string, groups []string, ttl time.Duration) (string, error) {
	if ttl > i.maxLifetime {
		return "", fmt.Errorf("token lifetime %s is over the maximum %s", ttl, i.maxLifetime)
	}
	now := time.Now()
	claims := TokenClaims{
		Groups:   groups,
		TokenUse: "access",
		ClientID: i.audience,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   sub,
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
	aud, _ := claims.GetAudience()
	if clientID, _ := claims["client_id"].(string); clientID != i.audience && !slices.Contains(aud, i.audience) {
		return nil, errors.New("token's aud or client_id is not the audience")
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp.Sub(iat.Time) > i.maxLifetime {
		return nil, fmt.Errorf("token must carry iat and live at most %s", i.maxLifetime)
	}
	return claims, nil
}
