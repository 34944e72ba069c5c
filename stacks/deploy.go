package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/auth"
	"github.com/shop-serverless/shop/components/bucket"
	"github.com/shop-serverless/shop/components/cache"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/components/httpapi"
	"github.com/shop-serverless/shop/components/monitoring"
	"github.com/shop-serverless/shop/components/network"
	"github.com/shop-serverless/shop/components/table"
	"github.com/shop-serverless/shop/functions/routes"
	"github.com/shop-serverless/shop/functions/tables"
)

// deploy declares the stack and returns its outputs by export name.
func deploy(ctx *pulumi.Context, cfg *Config, opts options) (map[string]pulumi.Input, error) {
	// Build first: a function that does not compile fails the preview before any resource.
	archives, err := packageFunctions(ctx, opts)
	if err != nil {
		return nil, err
	}
	tags := pulumi.StringMap{"project": pulumi.String(project), "stage": pulumi.String(cfg.Stack)}

	tbls := map[string]*table.Table{}
	for _, def := range tables.All {
		t, err := table.NewTable(ctx, def.Name, &table.TableArgs{
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
		})
		if err != nil {
			return nil, err
		}
		tbls[def.Name] = t
	}

	images, err := bucket.NewBucket(ctx, "images", &bucket.BucketArgs{
		Versioning:            cfg.Images.Versioning,
		NoncurrentVersionDays: cfg.Images.NoncurrentVersionDays,
		CORSOrigins:           cfg.CORSOrigins,
		ServedPrefix:          routes.ImagePrefix,
		UploadPrefix:          routes.UploadPrefix,
		PriceClass:            cfg.Images.PriceClass,
		Protect:               cfg.ProtectData,
		Tags:                  tags,
	})
	if err != nil {
		return nil, err
	}

	zones, err := availabilityZones(ctx, cfg.Network.AZCount)
	if err != nil {
		return nil, err
	}
	net, err := network.NewNetwork(ctx, "network", &network.NetworkArgs{
		CIDR:                 cfg.Network.CIDR,
		AvailabilityZones:    zones,
		NATMode:              cfg.Network.NATMode,
		Region:               cfg.Region,
		FlowLogRetentionDays: cfg.LogRetentionDays,
		FlowLogTrafficType:   cfg.Network.FlowLogTrafficType,
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
		Tags:                  tags,
	})
	if err != nil {
		return nil, err
	}

	authArgs := &auth.AuthArgs{PoolName: cfg.Prefix + "-users", MFA: cfg.Auth.MFA, Protect: cfg.ProtectData, Tags: tags}
	if cfg.Auth.Mode == "external" {
		authArgs.External = &auth.External{Issuer: cfg.Auth.Issuer, Audiences: cfg.Auth.Audiences}
	}
	identity, err := auth.NewAuth(ctx, "auth", authArgs)
	if err != nil {
		return nil, err
	}

	fns := map[string]*gofunc.Function{}
	for _, spec := range routes.Functions {
		sizes := cfg.Functions.SizesFor(spec.Name)
		args := &gofunc.FunctionArgs{
			Spec:                spec,
			FunctionName:        cfg.Prefix + "-" + spec.Name,
			Archive:             archives[spec.Name],
			MemoryMB:            sizes.MemoryMB,
			TimeoutSeconds:      sizes.TimeoutSeconds,
			ReservedConcurrency: sizes.ReservedConcurrency,
			LogRetentionDays:    cfg.LogRetentionDays,
			LogLevel:            strings.ToUpper(cfg.LogLevel),
			Environment:         environment(cfg, spec, tbls, images, kv),
			Tables:              map[string]gofunc.TableRef{},
			Tags:                tags,
		}
		for _, ta := range spec.Tables {
			args.Tables[ta.Table.Name] = gofunc.TableRef{Arn: tbls[ta.Table.Name].Arn}
		}
		if s := spec.StreamOf; s != nil {
			args.Tables[s.Name] = gofunc.TableRef{Arn: tbls[s.Name].Arn}
		}
		if spec.Bucket != "" {
			args.BucketArn = images.Arn
			args.BucketName = images.BucketName
		}
		if spec.Cache {
			args.Cache = &gofunc.CacheRef{Arn: kv.Arn, UserArn: kv.UserArn}
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
	throttles := map[string]routes.Throttle{}
	for key, t := range cfg.API.RouteThrottles {
		throttles[key] = routes.Throttle{RateLimit: t.RateLimit, BurstLimit: t.BurstLimit}
	}
	apiArgs := &httpapi.APIArgs{
		APIName:          cfg.Prefix,
		Routes:           routes.All,
		Targets:          targets,
		Issuer:           identity.Issuer,
		Audiences:        identity.Audiences,
		Throttle:         routes.Throttle{RateLimit: cfg.API.Throttle.RateLimit, BurstLimit: cfg.API.Throttle.BurstLimit},
		RouteThrottles:   throttles,
		CORSOrigins:      cfg.CORSOrigins,
		LogRetentionDays: cfg.LogRetentionDays,
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

	mon := &monitoring.MonitoringArgs{
		Prefix:     cfg.Prefix,
		Region:     cfg.Region,
		AlarmEmail: cfg.AlarmEmail,
		API:        &monitoring.API{APIID: api.ID, Stage: httpapi.StageName},
		Cache: &monitoring.Cache{
			Serverless: kv.Serverless, CacheID: kv.CacheID, NodeIDs: kv.NodeIDs,
			MaxDataGB: cfg.Cache.MaxDataGB, MaxECPUPerSecond: cfg.Cache.MaxECPUPerSecond,
		},
		Thresholds: monitoring.Thresholds{
			APILatencyP99Ms:          cfg.Monitoring.APILatencyP99Ms,
			API5xxCount:              cfg.Monitoring.API5xxCount,
			DurationPercentOfTimeout: cfg.Monitoring.DurationPercentOfTimeout,
			CacheCPUPercent:          cfg.Monitoring.CacheCPUPercent,
			CacheMemoryPercent:       cfg.Monitoring.CacheMemoryPercent,
			CacheEvictions:           cfg.Monitoring.CacheEvictions,
		},
		Tags: tags,
	}
	for _, spec := range routes.Functions {
		mon.Functions = append(mon.Functions, monitoring.Function{Key: spec.Name, FunctionName: fns[spec.Name].Name, TimeoutSeconds: fns[spec.Name].TimeoutSeconds})
	}
	for _, def := range tables.All {
		mon.Tables = append(mon.Tables, monitoring.Table{Key: def.Name, TableName: tbls[def.Name].Name})
	}
	alarms, err := monitoring.NewMonitoring(ctx, "monitoring", mon)
	if err != nil {
		return nil, err
	}

	out := map[string]pulumi.Input{
		"apiUrl":           api.URL,
		"apiEndpoint":      api.Endpoint,
		"imagesUrl":        images.BaseURL,
		"imagesBucket":     images.BucketName,
		"cacheEndpoint":    kv.Endpoint,
		"cacheUser":        kv.UserID,
		"jwtIssuer":        identity.Issuer,
		"userPoolId":       identity.UserPoolID,
		"userPoolClientId": identity.UserPoolClientID,
		"alarmTopicArn":    alarms.TopicArn,
		"dashboard":        alarms.DashboardName,
	}
	for _, def := range tables.All {
		out[def.Name+"Table"] = tbls[def.Name].Name
	}
	return out, nil
}

// environment is exactly what one function needs: its tables' names, the bucket and CDN for
// image handlers, the cache's address and IAM identity for cache users, the cart TTL for carts.
func environment(cfg *Config, spec routes.Function, tbls map[string]*table.Table, images *bucket.Bucket, kv *cache.Cache) pulumi.StringMap {
	env := pulumi.StringMap{routes.EnvLogLevel: pulumi.String(cfg.LogLevel)}
	for _, ta := range spec.Tables {
		env[ta.Table.EnvVar] = tbls[ta.Table.Name].Name
	}
	if spec.Bucket != "" {
		env[routes.EnvImagesBucket] = images.BucketName
		env[routes.EnvImagesBaseURL] = images.BaseURL
	}
	if spec.Cache {
		env[routes.EnvRedisAddr] = kv.Endpoint
		env[routes.EnvRedisTLS] = pulumi.String("true")
		// ElastiCache Serverless is always cluster mode.
		env[routes.EnvRedisCluster] = pulumi.String(strconv.FormatBool(kv.Serverless))
		env[routes.EnvRedisUser] = kv.UserID
		env[routes.EnvRedisIAMCache] = pulumi.String(kv.CacheID)
		env[routes.EnvRedisServerless] = pulumi.String(strconv.FormatBool(kv.Serverless))
	}
	if spec.Name == routes.Cart {
		env[routes.EnvCartTTL] = pulumi.String(cfg.CartTTL)
	}
	return env
}

// packageFunctions builds every function in parallel.
func packageFunctions(ctx *pulumi.Context, opts options) (map[string]string, error) {
	root := opts.Root
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("package functions: %w", err)
		}
		if root, err = gofunc.FindModuleRoot(wd); err != nil {
			return nil, fmt.Errorf("package functions: %w", err)
		}
	}
	names := make([]string, len(routes.Functions))
	for i, f := range routes.Functions {
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
