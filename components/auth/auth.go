// Package auth provides the issuer and audience the API's JWT authorizer trusts: a Cognito
// user pool with an app client and an "admin" group, or an external OpenID Connect issuer.
// Admins are recognised by the group in the token's "cognito:groups" claim (shared/API.md).
//
// With SignIn, the pool gets Cognito's hosted sign-in: a domain and, on the app client, the
// authorization code flow for a public client (no secret; the browser proves itself with
// PKCE) returning to the site's callback URLs. Cognito cannot require MFA for one group, so
// MFA "ON" requires a TOTP factor of every user; a stack that must guard its admins sets it
// (prod does), together with threat protection.
package auth

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cognito"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	domainPrefix     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	reservedInPrefix = regexp.MustCompile(`aws|amazon|cognito`)
)

// AdminGroup is the group whose members may call admin routes.
const AdminGroup = "admin"

// External names an existing OpenID Connect issuer.
type External struct {
	// Issuer is the issuer URL, https, exactly as in the tokens' "iss" claim.
	Issuer string
	// Audiences are accepted "aud" (or "client_id") values; at least one.
	Audiences []string
}

// SignIn configures Cognito's hosted sign-in for a browser app.
type SignIn struct {
	// DomainPrefix names the sign-in origin, https://<prefix>.auth.<region>.amazoncognito.com:
	// lowercase letters, digits and hyphens, unique in the region, without "aws", "amazon" or
	// "cognito".
	DomainPrefix string
	// CallbackURLs receive the authorization code; SignOutURLs are where logout returns to.
	// https (http only for localhost).
	CallbackURLs, SignOutURLs pulumi.StringArrayInput
	// Scopes are the OAuth scopes the client may ask for; at least "openid".
	Scopes []string
}

// Threat protection modes (Cognito's advanced security).
const (
	ThreatProtectionOff      = "OFF"
	ThreatProtectionAudit    = "AUDIT"
	ThreatProtectionEnforced = "ENFORCED"
)

// AuthArgs configures an Auth.
type AuthArgs struct {
	// External, when set, is trusted instead of creating a user pool.
	External *External
	// PoolName is the user pool's name; empty: the component name.
	PoolName string
	// MFA is OFF, OPTIONAL (default) or ON; TOTP apps only, so no SMS bill.
	MFA string
	// ThreatProtection is OFF (default), AUDIT or ENFORCED: Cognito's risk-based blocking of
	// compromised credentials and suspicious sign-ins (the Plus feature plan).
	ThreatProtection string
	// SignIn, when set, adds the hosted sign-in; nil: the app client signs in with SRP only.
	SignIn *SignIn
	// AccessTokenMinutes is the access and ID token lifetime, 5..1440; 0: 60.
	AccessTokenMinutes int
	// RefreshTokenDays is the refresh token lifetime, 1..3650; 0: 30.
	RefreshTokenDays int
	// Protect turns on Cognito's deletion protection and marks the pool protect and
	// retain-on-delete: the pool holds the users.
	Protect bool
	// Tags are added to the user pool.
	Tags pulumi.StringMapInput
}

// Auth is the API's identity provider.
type Auth struct {
	pulumi.ResourceState

	// Issuer is the JWT issuer URL.
	Issuer pulumi.StringOutput `pulumi:"issuer"`
	// Audiences are the accepted audiences.
	Audiences pulumi.StringArrayOutput `pulumi:"audiences"`
	// UserPoolID is the Cognito user pool's id; empty with an external issuer.
	UserPoolID pulumi.StringOutput `pulumi:"userPoolId"`
	// UserPoolClientID is the app client's id; empty with an external issuer.
	UserPoolClientID pulumi.StringOutput `pulumi:"userPoolClientId"`
	// SignInOrigin is the hosted sign-in's origin; empty without SignIn.
	SignInOrigin pulumi.StringOutput `pulumi:"signInOrigin"`
}

// NewAuth declares the user pool, or records the external issuer.
func NewAuth(ctx *pulumi.Context, name string, args *AuthArgs, opts ...pulumi.ResourceOption) (*Auth, error) {
	if args == nil {
		args = &AuthArgs{}
	}
	a := *args
	if a.PoolName == "" {
		a.PoolName = name
	}
	if a.MFA == "" {
		a.MFA = "OPTIONAL"
	}
	if a.AccessTokenMinutes == 0 {
		a.AccessTokenMinutes = 60
	}
	if a.RefreshTokenDays == 0 {
		a.RefreshTokenDays = 30
	}
	if a.ThreatProtection == "" {
		a.ThreatProtection = ThreatProtectionOff
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("auth %q: %w", name, err)
	}

	au := &Auth{}
	if err := ctx.RegisterComponentResource("shop:auth:Auth", name, au, opts...); err != nil {
		return nil, fmt.Errorf("auth %q: %w", name, err)
	}
	if a.External != nil {
		au.Issuer = pulumi.String(a.External.Issuer).ToStringOutput()
		au.Audiences = pulumi.ToStringArray(a.External.Audiences).ToStringArrayOutput()
		au.UserPoolID = pulumi.String("").ToStringOutput()
		au.UserPoolClientID = pulumi.String("").ToStringOutput()
		au.SignInOrigin = pulumi.String("").ToStringOutput()
	} else if err := au.declarePool(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("auth %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(au, pulumi.Map{
		"issuer":           au.Issuer,
		"audiences":        au.Audiences,
		"userPoolId":       au.UserPoolID,
		"userPoolClientId": au.UserPoolClientID,
		"signInOrigin":     au.SignInOrigin,
	}); err != nil {
		return nil, fmt.Errorf("auth %q: %w", name, err)
	}
	return au, nil
}

func (au *Auth) declarePool(ctx *pulumi.Context, name string, a *AuthArgs) error {
	parent := pulumi.Parent(au)
	poolOpts := []pulumi.ResourceOption{parent}
	deletion := "INACTIVE"
	if a.Protect {
		deletion = "ACTIVE"
		poolOpts = append(poolOpts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	}
	poolArgs := &cognito.UserPoolArgs{
		Name:                   pulumi.String(a.PoolName),
		UsernameAttributes:     pulumi.ToStringArray([]string{"email"}),
		AutoVerifiedAttributes: pulumi.ToStringArray([]string{"email"}),
		PasswordPolicy: &cognito.UserPoolPasswordPolicyArgs{
			MinimumLength:                 pulumi.Int(12),
			RequireLowercase:              pulumi.Bool(true),
			RequireUppercase:              pulumi.Bool(true),
			RequireNumbers:                pulumi.Bool(true),
			RequireSymbols:                pulumi.Bool(true),
			TemporaryPasswordValidityDays: pulumi.Int(3),
		},
		MfaConfiguration: pulumi.String(a.MFA),
		AccountRecoverySetting: &cognito.UserPoolAccountRecoverySettingArgs{
			RecoveryMechanisms: cognito.UserPoolAccountRecoverySettingRecoveryMechanismArray{
				&cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs{Name: pulumi.String("verified_email"), Priority: pulumi.Int(1)},
			},
		},
		DeletionProtection: pulumi.String(deletion),
		Tags:               a.Tags,
	}
	if a.MFA != "OFF" {
		poolArgs.SoftwareTokenMfaConfiguration = &cognito.UserPoolSoftwareTokenMfaConfigurationArgs{Enabled: pulumi.Bool(true)}
	}
	if a.ThreatProtection != ThreatProtectionOff {
		poolArgs.UserPoolTier = pulumi.String("PLUS")
		poolArgs.UserPoolAddOns = &cognito.UserPoolUserPoolAddOnsArgs{AdvancedSecurityMode: pulumi.String(a.ThreatProtection)}
	}
	pool, err := cognito.NewUserPool(ctx, name+"-pool", poolArgs, poolOpts...)
	if err != nil {
		return err
	}
	// A public client (no secret): browsers and apps sign in with SRP, never sending the
	// password itself, or through the hosted sign-in.
	clientArgs := &cognito.UserPoolClientArgs{
		UserPoolId:                 pool.ID(),
		GenerateSecret:             pulumi.Bool(false),
		ExplicitAuthFlows:          pulumi.ToStringArray([]string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}),
		PreventUserExistenceErrors: pulumi.String("ENABLED"),
		EnableTokenRevocation:      pulumi.Bool(true),
		AccessTokenValidity:        pulumi.Int(a.AccessTokenMinutes),
		IdTokenValidity:            pulumi.Int(a.AccessTokenMinutes),
		RefreshTokenValidity:       pulumi.Int(a.RefreshTokenDays),
		TokenValidityUnits: &cognito.UserPoolClientTokenValidityUnitsArgs{
			AccessToken:  pulumi.String("minutes"),
			IdToken:      pulumi.String("minutes"),
			RefreshToken: pulumi.String("days"),
		},
	}
	au.SignInOrigin = pulumi.String("").ToStringOutput()
	if si := a.SignIn; si != nil {
		domain, err := cognito.NewUserPoolDomain(ctx, name+"-domain", &cognito.UserPoolDomainArgs{
			UserPoolId: pool.ID(),
			Domain:     pulumi.String(si.DomainPrefix),
		}, parent)
		if err != nil {
			return err
		}
		region := aws.GetRegionOutput(ctx, aws.GetRegionOutputArgs{}, parent)
		au.SignInOrigin = pulumi.Sprintf("https://%s.auth.%s.amazoncognito.com", domain.Domain, region.Name())
		clientArgs.AllowedOauthFlowsUserPoolClient = pulumi.Bool(true)
		clientArgs.AllowedOauthFlows = pulumi.ToStringArray([]string{"code"})
		clientArgs.AllowedOauthScopes = pulumi.ToStringArray(si.Scopes)
		clientArgs.SupportedIdentityProviders = pulumi.ToStringArray([]string{"COGNITO"})
		clientArgs.CallbackUrls = si.CallbackURLs
		clientArgs.LogoutUrls = si.SignOutURLs
	}
	client, err := cognito.NewUserPoolClient(ctx, name+"-client", clientArgs, parent)
	if err != nil {
		return err
	}
	if _, err := cognito.NewUserGroup(ctx, name+"-admin-group", &cognito.UserGroupArgs{
		UserPoolId:  pool.ID(),
		Name:        pulumi.String(AdminGroup),
		Description: pulumi.String("may call the admin routes"),
	}, parent); err != nil {
		return err
	}
	au.Issuer = pulumi.Sprintf("https://%s", pool.Endpoint)
	au.Audiences = pulumi.StringArray{client.ID()}.ToStringArrayOutput()
	au.UserPoolID = pool.ID().ToStringOutput()
	au.UserPoolClientID = client.ID().ToStringOutput()
	return nil
}

func (a *AuthArgs) validate() error {
	var errs []error
	if e := a.External; e != nil {
		u, err := url.Parse(e.Issuer)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("external issuer %q must be an https URL", e.Issuer))
		}
		if len(e.Audiences) == 0 {
			errs = append(errs, errors.New("external issuer needs at least one audience"))
		}
	}
	switch a.MFA {
	case "OFF", "OPTIONAL", "ON":
	default:
		errs = append(errs, fmt.Errorf("MFA %q must be OFF, OPTIONAL or ON", a.MFA))
	}
	switch a.ThreatProtection {
	case ThreatProtectionOff, ThreatProtectionAudit, ThreatProtectionEnforced:
	default:
		errs = append(errs, fmt.Errorf("threat protection %q must be OFF, AUDIT or ENFORCED", a.ThreatProtection))
	}
	if si := a.SignIn; si != nil {
		if a.External != nil {
			errs = append(errs, errors.New("hosted sign-in needs the stack's user pool, not an external issuer"))
		}
		if !domainPrefix.MatchString(si.DomainPrefix) || reservedInPrefix.MatchString(si.DomainPrefix) {
			errs = append(errs, fmt.Errorf(`sign-in domain prefix %q must be 1..63 lowercase letters, digits and hyphens, not starting or ending with a hyphen, without "aws", "amazon" or "cognito"`, si.DomainPrefix))
		}
		if !slices.Contains(si.Scopes, "openid") {
			errs = append(errs, errors.New(`sign-in scopes must include "openid"`))
		}
		if si.CallbackURLs == nil || si.SignOutURLs == nil {
			errs = append(errs, errors.New("sign-in needs callback and sign-out URLs"))
		}
	}
	if a.AccessTokenMinutes < 5 || a.AccessTokenMinutes > 1440 {
		errs = append(errs, fmt.Errorf("access token lifetime %d minutes must be 5..1440", a.AccessTokenMinutes))
	}
	if a.RefreshTokenDays < 1 || a.RefreshTokenDays > 3650 {
		errs = append(errs, fmt.Errorf("refresh token lifetime %d days must be 1..3650", a.RefreshTokenDays))
	}
	return errors.Join(errs...)
}
