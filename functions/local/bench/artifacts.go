package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
)

// buildLocal builds the main package pkgDir as for Lambda (same flags as the deployment
// package) but for this machine's architecture, so it can run here; it returns the binary.
func buildLocal(ctx context.Context, pkgDir, out string) (string, error) {
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		return "", err
	}
	if err := gofunc.CompileFor(runtime.GOARCH)(ctx, root, pkgDir, out); err != nil {
		return "", err
	}
	return out, nil
}

// runArtifacts builds every function's deployment package twice, the second time with an
// empty build cache when cleanRebuild is set, and compares the bytes.
func runArtifacts(ctx context.Context, cleanRebuild bool, rep *Report) error {
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "shop-artifacts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var names []string
	for _, fn := range manifest.Functions {
		names = append(names, fn.Name)
	}
	first := &gofunc.Packager{Root: root, OutDir: filepath.Join(dir, "first")}
	second := &gofunc.Packager{Root: root, OutDir: filepath.Join(dir, "second")}
	if cleanRebuild {
		second.Compile = gofunc.CompileFor("arm64", "GOCACHE="+filepath.Join(dir, "gocache"))
	}
	a, err := first.PackageAll(ctx, names)
	if err != nil {
		return err
	}
	b, err := second.PackageAll(ctx, names)
	if err != nil {
		return err
	}
	rep.Artifacts = map[string]Artifact{}
	for _, name := range names {
		sumA, size, err := fileSHA256(a[name])
		if err != nil {
			return err
		}
		sumB, _, err := fileSHA256(b[name])
		if err != nil {
			return err
		}
		rep.Artifacts[name] = Artifact{ZipBytes: size, SHA256: sumA, Reproducible: sumA == sumB}
	}
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), int64(len(b)), nil
}
