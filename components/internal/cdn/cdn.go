// Package cdn holds what the shop's CloudFront distributions share: a custom domain, its
// checks, its viewer certificate and its DNS alias records.
package cdn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Domain is a custom domain for a distribution.
type Domain struct {
	// Name is the host name clients use ("shop.example.com").
	Name string
	// CertificateArn is an ACM certificate for Name in us-east-1, as CloudFront requires.
	CertificateArn string
	// HostedZoneID, when set, gets A and AAAA alias records of Name to the distribution.
	HostedZoneID string
}

// Validate reports a name that is no host name and a certificate outside us-east-1; a nil
// domain is valid.
func (d *Domain) Validate() error {
	if d == nil {
		return nil
	}
	var errs []error
	if d.Name == "" || strings.ContainsAny(d.Name, "/:*") {
		errs = append(errs, fmt.Errorf("domain %q must be a host name", d.Name))
	}
	if !strings.HasPrefix(d.CertificateArn, "arn:aws:acm:us-east-1:") {
		errs = append(errs, fmt.Errorf("certificate %q must be an ACM certificate in us-east-1 (CloudFront's region)", d.CertificateArn))
	}
	return errors.Join(errs...)
}

// Aliases are the distribution's alternate domain names: Name, or none.
func (d *Domain) Aliases() pulumi.StringArrayInput {
	if d == nil {
		return nil
	}
	return pulumi.ToStringArray([]string{d.Name})
}

// ViewerCertificate is the domain's certificate with TLS 1.2 at least (SNI); nil domain:
// CloudFront's own certificate, whose security policy CloudFront fixes at TLS 1.0 and up.
func (d *Domain) ViewerCertificate() *cloudfront.DistributionViewerCertificateArgs {
	if d == nil {
		return &cloudfront.DistributionViewerCertificateArgs{CloudfrontDefaultCertificate: pulumi.Bool(true)}
	}
	return &cloudfront.DistributionViewerCertificateArgs{
		AcmCertificateArn:      pulumi.String(d.CertificateArn),
		SslSupportMethod:       pulumi.String("sni-only"),
		MinimumProtocolVersion: pulumi.String("TLSv1.2_2021"),
	}
}

// Origin is where clients reach the distribution, "https://<Name or its own domain>".
func (d *Domain) Origin(cdn *cloudfront.Distribution) pulumi.StringOutput {
	if d == nil {
		return pulumi.Sprintf("https://%s", cdn.DomainName)
	}
	return pulumi.String("https://" + d.Name).ToStringOutput()
}

// AliasRecords declares name+"-dns-a" and name+"-dns-aaaa", Name's alias records to cdn,
// when the domain has a hosted zone.
func (d *Domain) AliasRecords(ctx *pulumi.Context, name string, cdn *cloudfront.Distribution, parent pulumi.ResourceOption) error {
	if d == nil || d.HostedZoneID == "" {
		return nil
	}
	for _, typ := range []string{"A", "AAAA"} {
		if _, err := route53.NewRecord(ctx, name+"-dns-"+strings.ToLower(typ), &route53.RecordArgs{
			ZoneId: pulumi.String(d.HostedZoneID),
			Name:   pulumi.String(d.Name),
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 cdn.DomainName,
				ZoneId:               cdn.HostedZoneId,
				EvaluateTargetHealth: pulumi.Bool(false),
			}},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}
