package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/auth"
	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/cache"
	"github.com/shop-serverless/shop/components/datakey"
	"github.com/shop-serverless/shop/components/edge"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/components/httpapi"
	"github.com/shop-serverless/shop/components/monitoring"
	"github.com/shop-serverless/shop/components/network"
	"github.com/shop-serverless/shop/components/site"
	"github.com/shop-serverless/shop/components/table"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
	"github.com/shop-serverless/shop/storefront/hosting"
)

// siteDistTarget is the make target that builds the storefront into storefront/dist.
const siteDistTarget = "make storefront"

// deploy declares the stack and returns its outputs by export name.
func deploy(ctx *pulumi.Context, cfg *Config, opts options) (map[string]pulumi.Input, error) {
	root, err := findRoot(opts)
	if err != nil {
		return nil, err
	}
	// Build first: a function that does not compile fails the preview before any resource.
	archives, err := packageFunctions(ctx, root, opts)
	if err != nil {
		return nil, err
	}
	siteDir, err := storefrontBuild(cfg, root, opts)
	if err != nil {
		return nil, err
	}
	tags := pulumi.StringMap{"project": pulumi.String(project), "stage": pulumi.String(cfg.Stack)}

	// dataKey encrypts customer data and logs when the stack has its own key; nil: AWS
	// managed keys.
	var dataKey pulumi.StringPtrInput
	if cfg.Encryption.CustomerManagedKey {
		k, err := datakey.NewDataKey(ctx, "data", &datakey.DataKeyArgs{
			Prefix: cfg.Prefix, Region: cfg.Region, DeletionDays: cfg.Encryption.KeyDeletionDays,
			Protect: cfg.ProtectData, Tags: tags,
		})
		if err != nil {
			return nil, err
		}
		dataKey = k.Arn
	}

	// CloudFront's web ACLs and their log groups live in us-east-1, whatever aws:region is.
	usEast1, err := aws.NewProvider(ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
	if err != nil {
		return nil, err
	}
	// A KMS key serves its own region only: the WAF's logs get a key of their own there.
	var edgeLogKey pulumi.StringPtrInput
	if cfg.Encryption.CustomerManagedKey {
		k, err := datakey.NewDataKey(ctx, "edge-data", &datakey.DataKeyArgs{
			Prefix: cfg.Prefix + "-edge", Region: "us-east-1", DeletionDays: cfg.Encryption.KeyDeletionDays,
			Protect: cfg.ProtectData, Tags: tags,
		}, pulumi.Providers(usEast1))
		if err != nil {
			return nil, err
		}
		edgeLogKey = k.Arn
	}

	// Access logs of every bucket and distribution, the storefront's included.
	logs, err := bucket.NewLogBucket(ctx, "logs", &bucket.LogBucketArgs{
		ExpireDays: cfg.LogRetentionDays,
		Versioning: cfg.ProtectData,
		Protect:    cfg.ProtectData,
		Tags:       tags,
	})
	if err != nil {
		return nil, err
	}

	// The storefront's origin comes first: the images bucket's upload CORS rule, the API's
	// CORS rule and the sign-in client's callback URLs are made from it.
	var storefront *site.Site
	var siteOrigin pulumi.StringInput
	if cfg.Site.Enabled {
		siteArgs := &site.SiteArgs{PriceClass: cfg.Site.PriceClass, AccessLogs: logs.AccessLogs(), Tags: tags}
		if d := cfg.Site.Domain; d != nil {
			siteArgs.Domain = &site.Domain{Name: d.Name, CertificateArn: d.CertificateArn, HostedZoneID: d.HostedZoneID}
		}
		if storefront, err = site.NewSite(ctx, "site", siteArgs, pulumi.DependsOn([]pulumi.Resource{logs})); err != nil {
			return nil, err
		}
		siteOrigin = storefront.Origin
	}

	tbls := map[string]*table.Table{}
	for _, def := range tables.All {
		tableArgs := &table.TableArgs{
			Definition:           def,
			TableName:            cfg.Prefix + "-" + def.Name,
			BillingMode:          cfg.Tables.BillingMode,
			ReadCapacity:         cfg.Tables.ReadCapacity,
			WriteCapacity:        cfg.Tables.WriteCapacity,
			MaxReadRequestUnits:  cfg.Tables.MaxReadRequestUnits,
			MaxWriteRequestUnits: cfg.Tables.MaxWriteRequestUnits,
			PointInTimeRecovery:  cfg.Tables.PointInTimeRecovery,
			DeletionProtection:   cfg.Tables.DeletionProtection,
			TableClass:           cfg.Tables.TableClass,
			Protect:              cfg.ProtectData,
			Tags:                 tags,
		}
		if def.CustomerData {
			tableArgs.KMSKeyArn = dataKey
		}
		t, err := table.NewTable(ctx, def.Name, tableArgs)
		if err != nil {
			return nil, err
		}
		tbls[def.Name] = t
	}

	images, err := bucket.NewBucket(ctx, "images", &bucket.BucketArgs{
		AccessLogs:            logs.AccessLogs(),
		Versioning:            cfg.Images.Versioning,
		NoncurrentVersionDays: cfg.Images.NoncurrentVersionDays,
		CORSOrigins:           cfg.CORSOrigins,
		SiteOrigin:            siteOrigin,
		ServedPrefix:          manifest.ImagesPrefix,
		UploadPrefix:          manifest.UploadPrefix,
		PriceClass:            cfg.Images.PriceClass,
		Protect:               cfg.ProtectData,
		Tags:                  tags,
	}, pulumi.DependsOn([]pulumi.Resource{logs}))
	if err != nil {
		return nil, err
	}

	zones, err := availabilityZones(ctx, cfg.Network.AZCount)
	if err != nil {
		return nil, err
	}
	var tableArns []pulumi.StringInput
	for _, def := range tables.All {
		tableArns = append(tableArns, tbls[def.Name].Arn)
	}
	net, err := network.NewNetwork(ctx, "network", &network.NetworkArgs{
		TableArns:            tableArns,
		BucketArns:           []pulumi.StringInput{images.Arn},
		CIDR:                 cfg.Network.CIDR,
		AvailabilityZones:    zones,
		NATMode:              cfg.Network.NATMode,
		Region:               cfg.Region,
		FlowLogRetentionDays: cfg.LogRetentionDays,
		FlowLogTrafficType:   cfg.Network.FlowLogTrafficType,
		LogKMSKeyArn:         dataKey,
		Tags:                 tags,
	})
	if err != nil {
		return nil, err
	}

	kv, err := cache.NewCache(ctx, "cache", &cache.CacheArgs{
		CacheID:               cfg.Prefix + "-cache",
		Engine:                cfg.Cache.Engine,
		EngineVersion:         cfg.Cache.EngineVersion,
		Mode:                  cfg.Cache.Mode,
		NodeType:              cfg.Cache.NodeType,
		NodeCount:             cfg.Cache.Nodes,
		SnapshotRetentionDays: cfg.Cache.SnapshotRetentionDays,
		MaxDataGB:             cfg.Cache.MaxDataGB,
		MaxECPUPerSecond:      cfg.Cache.MaxECPUPerSecond,
		SubnetIDs:             net.PrivateSubnetIDs,
		SecurityGroupIDs:      pulumi.StringArray{net.CacheSecurityGroupID},
		SlowLogRetentionDays:  cfg.LogRetentionDays,
		Users:                 cacheUsers(),
		LogKMSKeyArn:          dataKey,
		Tags:                  tags,
	})
	if err != nil {
		return nil, err
	}

	// Access tokens live exactly as long as the functions accept them.
	authArgs := &auth.AuthArgs{
		PoolName: cfg.Prefix + "-users", MFA: cfg.Auth.MFA, ThreatProtection: cfg.Auth.ThreatProtection,
		AccessTokenMinutes: int(manifest.MaxTokenLifetime / time.Minute), Protect: cfg.ProtectData, Tags: tags,
	}
	if cfg.Auth.Mode == "external" {
		authArgs.External = &auth.External{Issuer: cfg.Auth.Issuer, Audiences: cfg.Auth.Audiences}
	}
	callbackURL := pulumi.Sprintf("%s%s", siteOrigin, hosting.CallbackPath)
	signOutURL := pulumi.Sprintf("%s%s", siteOrigin, hosting.SignOutPath)
	if storefront != nil {
		prefix := cfg.Auth.DomainPrefix
		if prefix == "" {
			prefix = cfg.Prefix
		}
		authArgs.SignIn = &auth.SignIn{
			DomainPrefix: prefix,
			CallbackURLs: pulumi.StringArray{callbackURL},
			SignOutURLs:  pulumi.StringArray{signOutURL},
			Scopes:       hosting.OAuthScopes,
		}
	}
	identity, err := auth.NewAuth(ctx, "auth", authArgs)
	if err != nil {
		return nil, err
	}

	env := links(cfg, tbls, images, kv)
	fns := map[string]*gofunc.Function{}
	for _, spec := range manifest.Functions {
		sizes := cfg.Functions.SizesFor(spec.Name)
		args := &gofunc.FunctionArgs{
			Spec:                spec,
			FunctionName:        cfg.Prefix + "-" + spec.Name,
			Archive:             archives[spec.Name],
			MemoryMB:            sizes.MemoryMB,
			TimeoutSeconds:      sizes.TimeoutSeconds,
			ReservedConcurrency: sizes.ReservedConcurrency,
			LogRetentionDays:    cfg.LogRetentionDays,
			LogKMSKeyArn:        dataKey,
			LogLevel:            strings.ToUpper(cfg.LogLevel),
			Environment:         pulumi.StringMap(manifest.Environment(spec, env)),
			Tables:              map[string]gofunc.TableRef{},
			Tags:                tags,
		}
		for _, t := range spec.TablesUsed() {
			args.Tables[t.Name] = gofunc.TableRef{Arn: tbls[t.Name].Arn}
		}
		if s := spec.StreamOf; s != nil {
			args.Tables[s.Name] = gofunc.TableRef{Arn: tbls[s.Name].Arn, Stream: tbls[s.Name].StreamArn}
		}
		if len(spec.Bucket) > 0 {
			args.BucketArn = images.Arn
			args.BucketName = images.BucketName
		}
		if spec.UsesCache() {
			args.Cache = &gofunc.CacheRef{Arn: kv.Arn}
			if spec.Cache != nil {
				args.Cache.UserArn = kv.Users[spec.Name].Arn
			}
			if spec.LimiterAccess() != nil {
				args.Cache.LimiterUserArn = kv.Users[spec.LimiterUser()].Arn
			}
			args.VPC = &gofunc.VPCConfig{
				SubnetIDs:        net.PrivateSubnetIDs,
				SecurityGroupIDs: pulumi.StringArray{net.FunctionSecurityGroupID},
			}
		}
		fn, err := gofunc.NewFunction(ctx, spec.Name, args)
		if err != nil {
			return nil, err
		}
		fns[spec.Name] = fn
	}

	targets := map[string]httpapi.Target{}
	for name, fn := range fns {
		if !fn.Spec.Invoked() {
			targets[name] = httpapi.Target{InvokeArn: fn.InvokeArn, FunctionName: fn.Name, TimeoutSeconds: fn.TimeoutSeconds}
		}
	}
	throttles := map[string]manifest.Throttle{}
	for key, t := range cfg.API.RouteThrottles {
		throttles[key] = manifest.Throttle(t)
	}
	apiArgs := &httpapi.APIArgs{
		APIName:          cfg.Prefix,
		Routes:           manifest.All,
		Targets:          targets,
		Issuer:           identity.Issuer,
		Audiences:        identity.Audiences,
		Throttle:         manifest.Throttle(cfg.API.Throttle),
		RouteThrottles:   throttles,
		CORSOrigins:      cfg.CORSOrigins,
		SiteOrigin:       siteOrigin,
		LogRetentionDays: cfg.LogRetentionDays,
		LogKMSKeyArn:     dataKey,
		DetailedMetrics:  cfg.API.DetailedMetrics,
		Tags:             tags,
	}
	if d := cfg.API.Domain; d != nil {
		apiArgs.Domain = &httpapi.Domain{Name: d.Name, CertificateArn: pulumi.String(d.CertificateArn), HostedZoneID: d.HostedZoneID}
	}
	api, err := httpapi.NewAPI(ctx, "api", apiArgs)
	if err != nil {
		return nil, err
	}

	edgeArgs := &edge.EdgeArgs{
		Name:         cfg.Prefix,
		USEast1:      usEast1,
		OriginURL:    api.Endpoint,
		OriginHeader: manifest.OriginHeader,
		OriginSecret: cfg.OriginSecret,
		Rates: edge.Rates{
			WindowSeconds: cfg.Edge.WindowSeconds, PerAddress: cfg.Edge.RatePerAddress, OrdersPerAddress: cfg.Edge.OrdersRatePerAddress,
		},
		RateLimitedBody:  manifest.EdgeRateLimitedBody,
		PriceClass:       cfg.Edge.PriceClass,
		AccessLogs:       logs.AccessLogs(),
		LogRetentionDays: cfg.LogRetentionDays,
		LogKMSKeyArn:     edgeLogKey,
		Tags:             tags,
	}
	if d := cfg.Edge.Domain; d != nil {
		edgeArgs.Domain = &edge.Domain{Name: d.Name, CertificateArn: d.CertificateArn, HostedZoneID: d.HostedZoneID}
	}
	front, err := edge.NewEdge(ctx, "edge", edgeArgs, pulumi.DependsOn([]pulumi.Resource{logs}))
	if err != nil {
		return nil, err
	}

	if storefront != nil {
		if _, err := site.NewContent(ctx, "site-content", &site.ContentArgs{
			Site:   storefront,
			Dir:    siteDir,
			Config: siteConfig(front.URL, images.BaseURL, identity, callbackURL, signOutURL),
			Origins: site.Origins{
				API: front.URL, Images: images.BaseURL, Uploads: images.UploadOrigin, Cognito: identity.SignInOrigin,
			},
		}); err != nil {
			return nil, err
		}
	}

	mon := &monitoring.MonitoringArgs{
		Prefix:     cfg.Prefix,
		Region:     cfg.Region,
		AlarmEmail: cfg.AlarmEmail,
		API:        &monitoring.API{APIID: api.ID, Stage: httpapi.StageName},
		Cache: &monitoring.Cache{
			Serverless: kv.Serverless, CacheID: kv.CacheID, NodeIDs: kv.NodeIDs,
			MaxDataGB: cfg.Cache.MaxDataGB, MaxECPUPerSecond: cfg.Cache.MaxECPUPerSecond,
		},
		Thresholds: monitoring.Thresholds(cfg.Monitoring),
		Tags:       tags,
	}
	for _, spec := range manifest.Functions {
		mon.Functions = append(mon.Functions, monitoring.Function{Key: spec.Name, FunctionName: fns[spec.Name].Name, TimeoutSeconds: fns[spec.Name].TimeoutSeconds})
	}
	for _, def := range tables.All {
		mon.Tables = append(mon.Tables, monitoring.Table{Key: def.Name, TableName: tbls[def.Name].Name})
	}
	for _, spec := range manifest.Functions {
		if q := fns[spec.Name].FailureQueue; q != nil {
			mon.Queues = append(mon.Queues, monitoring.Queue{Key: spec.Name + "-failures", QueueName: q.Name,
				Description: spec.Name + " gave up on a stream batch: replay it (stacks/README.md)"})
		}
	}
	alarms, err := monitoring.NewMonitoring(ctx, "monitoring", mon)
	if err != nil {
		return nil, err
	}

	out := map[string]pulumi.Input{
		"apiUrl":             front.URL,
		"apiEndpoint":        api.Endpoint,
		"edgeDistributionId": front.DistributionID,
		"wafLogGroup":        front.LogGroupName,
		"imagesUrl":          images.BaseURL,
		"imagesBucket":       images.BucketName,
		"logBucket":          logs.BucketName,
		"cacheEndpoint":      kv.Endpoint,
		"cacheUsers":         kv.UserIDs,
		"jwtIssuer":          identity.Issuer,
		"userPoolId":         identity.UserPoolID,
		"userPoolClientId":   identity.UserPoolClientID,
		"alarmTopicArn":      alarms.TopicArn,
		"dashboard":          alarms.DashboardName,
		"openapi":            openAPIFor(front.URL),
	}
	for _, def := range tables.All {
		out[def.Name+"Table"] = tbls[def.Name].Name
	}
	for _, spec := range manifest.Functions {
		if q := fns[spec.Name].FailureQueue; q != nil {
			out[spec.Name+"FailureQueue"] = q.URL
		}
	}
	if storefront != nil {
		out["siteUrl"] = storefront.Origin
		out["siteBucket"] = storefront.BucketName
		out["siteDistributionId"] = storefront.DistributionID
		out["signInOrigin"] = identity.SignInOrigin
	}
	return out, nil
}

// siteConfig is the storefront's config.json for this stack, made from the real outputs.
func siteConfig(apiURL, imagesURL pulumi.StringOutput, identity *auth.Auth, callbackURL, signOutURL pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.All(apiURL, imagesURL, identity.SignInOrigin, identity.UserPoolClientID, callbackURL, signOutURL).ApplyT(func(v []any) (string, error) {
		c := hosting.Config{
			APIBaseURL:    v[0].(string),
			ImagesBaseURL: v[1].(string),
			Auth: hosting.Auth{Mode: hosting.AuthCognito, Cognito: &hosting.Cognito{
				Domain:      v[2].(string),
				ClientID:    v[3].(string),
				RedirectURI: v[4].(string),
				SignOutURI:  v[5].(string),
				Scopes:      hosting.OAuthScopes,
			}},
		}
		b, err := c.Marshal()
		return string(b), err
	}).(pulumi.StringOutput)
}

// storefrontBuild is the built storefront the site serves: opts.SiteDir, else
// storefront/dist, which siteDistTarget builds.
func storefrontBuild(cfg *Config, root string, opts options) (string, error) {
	if !cfg.Site.Enabled {
		return "", nil
	}
	dir := opts.SiteDir
	if dir == "" {
		dir = filepath.Join(root, "storefront", "dist")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return "", fmt.Errorf("storefront build: %s has no index.html; run `%s` first", dir, siteDistTarget)
	}
	return dir, nil
}

// findRoot is opts.Root, else the module root found from the working directory.
func findRoot(opts options) (string, error) {
	if opts.Root != "" {
		return opts.Root, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	root, err := gofunc.FindModuleRoot(wd)
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	return root, nil
}

// links are what this stack's resources put into a function's environment; which of them a
// function gets, its entry in functions/manifest decides.
func links(cfg *Config, tbls map[string]*table.Table, images *bucket.Bucket, kv *cache.Cache) manifest.Links[pulumi.StringInput] {
	verifiers := originVerifiers(cfg)
	return manifest.Links[pulumi.StringInput]{
		OriginVerifiers: &verifiers,
		Settings: map[string]pulumi.StringInput{
			manifest.EnvLogLevel: pulumi.String(cfg.LogLevel),
			manifest.EnvCartTTL:  pulumi.String(cfg.CartTTL),
			// Limits are plain settings, not secrets: what a user may send is no secret.
			manifest.EnvUserLimits: pulumi.String(manifest.UserLimitsSetting(cfg.UserLimits)),
		},
		Table: func(t tables.Table) pulumi.StringInput { return tbls[t.Name].Name },
		Bucket: map[string]pulumi.StringInput{
			manifest.EnvImagesBucket:  images.BucketName,
			manifest.EnvImagesBaseURL: images.BaseURL,
		},
		Cache: func(user string) map[string]pulumi.StringInput {
			return map[string]pulumi.StringInput{
				manifest.EnvRedisAddr: kv.Endpoint,
				manifest.EnvRedisTLS:  pulumi.String("true"),
				// ElastiCache Serverless is always cluster mode.
				manifest.EnvRedisCluster:    pulumi.String(strconv.FormatBool(kv.Serverless)),
				manifest.EnvRedisUser:       kv.Users[user].ID,
				manifest.EnvRedisIAMCache:   pulumi.String(kv.CacheID),
				manifest.EnvRedisServerless: pulumi.String(strconv.FormatBool(kv.Serverless)),
			}
		},
	}
}

// cacheUsers is one cache user per function that uses the cache and one per function that
// limits (its limiter's), with the access its entry in functions/manifest declares.
func cacheUsers() []cache.User {
	var out []cache.User
	for _, spec := range manifest.Functions {
		if spec.Cache != nil {
			out = append(out, cache.User{Name: spec.Name, AccessString: spec.Cache.AccessString()})
		}
		if a := spec.LimiterAccess(); a != nil {
			out = append(out, cache.User{Name: spec.LimiterUser(), AccessString: a.AccessString()})
		}
	}
	return out
}

// packageFunctions builds every function in parallel.
func packageFunctions(ctx *pulumi.Context, root string, opts options) (map[string]string, error) {
	names := make([]string, len(manifest.Functions))
	for i, f := range manifest.Functions {
		names[i] = f.Name
	}
	p := &gofunc.Packager{Root: root, Compile: opts.Compile}
	return p.PackageAll(ctx.Context(), names)
}

// availabilityZones picks the region's first n zones that need no opt-in (no Local Zones).
func availabilityZones(ctx *pulumi.Context, n int) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("availability zones: %w", err)
	}
	if len(res.Names) < n {
		return nil, fmt.Errorf("%s:network.azCount: %d zones asked, the region has %d", project, n, len(res.Names))
	}
	return res.Names[:n], nil
}

// originVerifiers are what the functions check the edge's header against: the verifiers of
// the origin secret and, during a rotation, of the previous one (manifest.OriginVerifiers).
// A verifier does not give the secret away, but it is kept a secret in the state all the
// same: it is made from one. A new secret changes the functions' configuration, so Lambda
// replaces their environments.
func originVerifiers(cfg *Config) pulumi.StringInput {
	secrets := pulumi.StringArray{cfg.OriginSecret}
	if cfg.PreviousOriginSecret != nil {
		secrets = append(secrets, cfg.PreviousOriginSecret)
	}
	verifiers := secrets.ToStringArrayOutput().ApplyT(func(s []string) string { return manifest.OriginVerifiers(s...) }).(pulumi.StringOutput)
	return pulumi.ToSecret(verifiers).(pulumi.StringOutput)
}
