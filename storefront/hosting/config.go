package hosting

import (
	"encoding/json"
	"fmt"
)

// ConfigFile is the name, at the site's root, of the stage's settings the app reads at
// start-up; one build serves every stage.
const ConfigFile = "config.json"

// Auth modes of Config.Auth.Mode.
const (
	// AuthLocal signs in through the local stage's POST /_local/token.
	AuthLocal = "local"
	// AuthCognito signs in through Cognito's hosted sign-in (authorization code with PKCE).
	AuthCognito = "cognito"
)

// CallbackPath is the site page Cognito's hosted sign-in returns the authorization code to;
// SignOutPath is where its logout endpoint sends the browser back to.
const (
	CallbackPath = "/auth/callback"
	SignOutPath  = "/"
)

// OAuthScopes are the scopes the app asks Cognito for and the app client allows.
var OAuthScopes = []string{"openid", "email", "profile"}

// Config is config.json: what a stage tells the app.
type Config struct {
	// APIBaseURL is the HTTP API's base URL, no trailing slash.
	APIBaseURL string `json:"apiBaseUrl"`
	// ImagesBaseURL is the base URL product images are served from, no trailing slash.
	ImagesBaseURL string `json:"imagesBaseUrl"`
	// Auth says how shoppers sign in.
	Auth Auth `json:"auth"`
}

// Auth is config.json's sign-in settings.
type Auth struct {
	// Mode is AuthLocal or AuthCognito.
	Mode string `json:"mode"`
	// Cognito is set when Mode is AuthCognito.
	Cognito *Cognito `json:"cognito,omitempty"`
}

// Cognito is what the app needs for Cognito's hosted sign-in with the authorization code flow
// and PKCE (a public client: no secret).
type Cognito struct {
	// Domain is the hosted sign-in's origin, "https://<prefix>.auth.<region>.amazoncognito.com".
	Domain string `json:"domain"`
	// ClientID is the app client's id.
	ClientID string `json:"clientId"`
	// RedirectURI is the callback URL the code is returned to (one of the client's callbacks).
	RedirectURI string `json:"redirectUri"`
	// SignOutURI is where Cognito's logout endpoint sends the browser back to.
	SignOutURI string `json:"signOutUri"`
	// Scopes are the OAuth scopes the app asks for.
	Scopes []string `json:"scopes"`
}

// Marshal returns config.json's bytes (indented, fields in a fixed order, so the same
// settings are the same file) after checking the settings are complete.
func (c Config) Marshal() ([]byte, error) {
	if c.APIBaseURL == "" || c.ImagesBaseURL == "" {
		return nil, fmt.Errorf("%s: apiBaseUrl and imagesBaseUrl are required", ConfigFile)
	}
	switch c.Auth.Mode {
	case AuthLocal:
		if c.Auth.Cognito != nil {
			return nil, fmt.Errorf("%s: local auth takes no cognito settings", ConfigFile)
		}
	case AuthCognito:
		g := c.Auth.Cognito
		if g == nil || g.Domain == "" || g.ClientID == "" || g.RedirectURI == "" || g.SignOutURI == "" || len(g.Scopes) == 0 {
			return nil, fmt.Errorf("%s: cognito auth needs domain, clientId, redirectUri, signOutUri and scopes", ConfigFile)
		}
	default:
		return nil, fmt.Errorf("%s: auth mode %q: want %q or %q", ConfigFile, c.Auth.Mode, AuthLocal, AuthCognito)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return append(b, '\n'), nil
}
