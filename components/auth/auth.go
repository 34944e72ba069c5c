// Package auth provides the issuer and audience the API's JWT authorizer trusts: a Cognito
// user pool with an app client and an "admin" group, or an external OpenID Connect issuer.
// Admins are recognised by the group in the token's "cognito:groups" claim (shared/API.md).
package auth

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cognito"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// AuthArgs configures an Auth.
type AuthArgs struct {
	// External, when set, is trusted instead of creating a user pool.
	External *External
	// PoolName is the user pool's name; empty: the component name.
	PoolName string
	// MFA is OFF, OPTIONAL (default) or ON; TOTP apps only, so no SMS bill.
	MFA string
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
	} else if err := au.declarePool(ctx, name, &a); err != nil {
		return nil, fmt.Errorf("auth %q: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(au, pulumi.Map{
		"issuer":           au.Issuer,
		"audiences":        au.Audiences,
		"userPoolId":       au.UserPoolID,
		"userPoolClientId": au.UserPoolClientID,
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
	pool, err := cognito.NewUserPool(ctx, name+"-pool", poolArgs, poolOpts...)
	if err != nil {
		return err
	}
	// A public client (no secret): browsers and apps sign in with SRP, never sending the
	// password itself.
	client, err := cognito.NewUserPoolClient(ctx, name+"-client", &cognito.UserPoolClientArgs{
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
	}, parent)
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
	if a.AccessTokenMinutes < 5 || a.AccessTokenMinutes > 1440 {
		errs = append(errs, fmt.Errorf("access token lifetime %d minutes must be 5..1440", a.AccessTokenMinutes))
	}
	if a.RefreshTokenDays < 1 || a.RefreshTokenDays > 3650 {
		errs = append(errs, fmt.Errorf("refresh token lifetime %d days must be 1..3650", a.RefreshTokenDays))
	}
	return errors.Join(errs...)
}
