package httpapi

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Domain is a custom domain for the API.
type Domain struct {
	// Name is the host name, "api.shop.example.com".
	Name string
	// CertificateArn is an ACM certificate for Name in the API's region.
	CertificateArn pulumi.StringInput
	// HostedZoneID, when set, gets an alias record for Name.
	HostedZoneID string
}

// createDomain serves the stage on the custom domain (regional, TLS 1.2 at least), with an
// alias record when the hosted zone is given, and returns the API's URL there.
func (b *builder) createDomain(gw *apigatewayv2.Api, stage *apigatewayv2.Stage) (pulumi.StringOutput, error) {
	d := b.args.Domain
	domain, err := apigatewayv2.NewDomainName(b.ctx, b.child("domain"), &apigatewayv2.DomainNameArgs{
		DomainName: pulumi.String(d.Name),
		DomainNameConfiguration: &apigatewayv2.DomainNameDomainNameConfigurationArgs{
			CertificateArn: d.CertificateArn,
			EndpointType:   pulumi.String("REGIONAL"),
			SecurityPolicy: pulumi.String("TLS_1_2"),
		},
		Tags: b.args.Tags,
	}, b.parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := apigatewayv2.NewApiMapping(b.ctx, b.child("mapping"), &apigatewayv2.ApiMappingArgs{
		ApiId:      gw.ID(),
		DomainName: domain.ID(),
		Stage:      stage.ID(),
	}, b.parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	if d.HostedZoneID != "" {
		cfg := domain.DomainNameConfiguration
		if _, err := route53.NewRecord(b.ctx, b.child("dns"), &route53.RecordArgs{
			ZoneId: pulumi.String(d.HostedZoneID),
			Name:   pulumi.String(d.Name),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 cfg.TargetDomainName().Elem(),
				ZoneId:               cfg.HostedZoneId().Elem(),
				EvaluateTargetHealth: pulumi.Bool(false),
			}},
		}, b.parent); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return pulumi.Sprintf("https://%s", domain.ID()), nil
}
