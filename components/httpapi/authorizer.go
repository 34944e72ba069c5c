package httpapi

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/functions/manifest"
)

// createAuthorizer declares the JWT authorizer of the user and admin routes: API Gateway
// checks the bearer token's signature, issuer, audience and expiry before a function runs.
// An API of public routes only gets none (nil).
func (b *builder) createAuthorizer(gw *apigatewayv2.Api) (*apigatewayv2.Authorizer, error) {
	if !needsAuthorizer(b.args.Routes) {
		return nil, nil
	}
	return apigatewayv2.NewAuthorizer(b.ctx, b.child("jwt"), &apigatewayv2.AuthorizerArgs{
		ApiId:           gw.ID(),
		Name:            pulumi.String("jwt"),
		AuthorizerType:  pulumi.String("JWT"),
		IdentitySources: pulumi.ToStringArray([]string{"$request.header.Authorization"}),
		JwtConfiguration: &apigatewayv2.AuthorizerJwtConfigurationArgs{
			Issuer:    b.args.Issuer,
			Audiences: b.args.Audiences,
		},
	}, b.parent)
}

// needsAuthorizer reports whether any route is for signed-in users or admins.
func needsAuthorizer(rs []manifest.Route) bool {
	for _, r := range rs {
		if r.Auth != manifest.Public {
			return true
		}
	}
	return false
}
