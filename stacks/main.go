// Command stacks is the shop's Pulumi program: it reads the stack's configuration
// (Pulumi.<stack>.yaml), builds every function, and declares the whole stack from the
// components under components/: tables, images bucket and CDN, network, cache, user pool,
// functions, HTTP API, the storefront's site and monitoring.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/gofunc"
)

// options are the program's seams for tests.
type options struct {
	// Compile replaces `go build` of the functions; nil: gofunc.GoCompile.
	Compile gofunc.CompileFunc
	// Root is the module root; empty: found from the working directory.
	Root string
	// SiteDir is the built storefront; empty: storefront/dist under Root.
	SiteDir string
}

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		return run(ctx, options{})
	})
}

// run reads the configuration and declares the stack.
func run(ctx *pulumi.Context, opts options) error {
	cfg, err := loadConfig(ctx)
	if err != nil {
		return err
	}
	outputs, err := deploy(ctx, cfg, opts)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(outputs) {
		ctx.Export(k, outputs[k])
	}
	return nil
}
