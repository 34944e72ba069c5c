package gofunc

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
)

// ZipModTime is the modification time of every zip entry: fixed, so the same binary always
// gives the same zip bytes and previews show no code change where there is none.
var ZipModTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// BuildFlags are the go build flags of a function binary: static (no cgo, set in the
// environment), no paths, VCS stamps or build ids in the output, and aws-lambda-go without
// its legacy RPC mode, which provided.al2023 never uses.
var BuildFlags = []string{
	"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=",
}

// CompileFunc builds the main package in pkgDir (relative to the module root) into the file
// out. Tests substitute one that writes a stand-in binary.
type CompileFunc func(ctx context.Context, root, pkgDir, out string) error

// GoCompile cross-compiles with the go tool for Lambda's linux/arm64.
var GoCompile = CompileFor("arm64")

// CompileFor returns a CompileFunc that builds for linux/goarch with BuildFlags, with env
// (KEY=value) added to the go tool's environment. The benchmarks use it to build functions as
// for Lambda but for the local architecture, and to rebuild with an empty build cache.
func CompileFor(goarch string, env ...string) CompileFunc {
	return func(ctx context.Context, root, pkgDir, out string) error {
		args := append([]string{"build"}, BuildFlags...)
		args = append(args, "-o", out, "./"+filepath.ToSlash(pkgDir))
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
		cmd.Env = append(cmd.Env, env...)
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./%s: %w\n%s", filepath.ToSlash(pkgDir), err, output.String())
		}
		return nil
	}
}

// Packager builds function packages: the function's main package compiled for linux/arm64,
// stored as the single entry "bootstrap" (mode 0755) of a deterministic zip.
type Packager struct {
	// Root is the Go module's root directory.
	Root string
	// SourceDir holds one main package per function, relative to Root; empty: "functions".
	SourceDir string
	// OutDir receives "<name>.zip"; empty: Root/.build/functions.
	OutDir string
	// Compile builds a binary; nil: GoCompile.
	Compile CompileFunc
	// Parallel bounds concurrent builds; 0: the number of CPUs.
	Parallel int
}

// Package builds one function and returns the zip's absolute path.
func (p *Packager) Package(ctx context.Context, name string) (string, error) {
	paths, err := p.PackageAll(ctx, []string{name})
	if err != nil {
		return "", err
	}
	return paths[name], nil
}

// PackageAll builds the named functions in parallel and returns each zip's absolute path. A
// function without source fails with an error naming the folder it looked in; every failure
// is reported, not only the first.
func (p *Packager) PackageAll(ctx context.Context, names []string) (map[string]string, error) {
	if p.Root == "" {
		return nil, errors.New("package functions: module root is required")
	}
	srcDir := p.SourceDir
	if srcDir == "" {
		srcDir = "functions"
	}
	outDir := p.OutDir
	if outDir == "" {
		outDir = filepath.Join(p.Root, ".build", "functions")
	}
	compile := p.Compile
	if compile == nil {
		compile = GoCompile
	}
	parallel := p.Parallel
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("package functions: %w", err)
	}

	var (
		mu    sync.Mutex
		paths = map[string]string{}
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, parallel)
	)
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			zipPath := filepath.Join(outDir, name+".zip")
			err := packageOne(ctx, compile, p.Root, filepath.Join(srcDir, name), zipPath)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("function %q: %w", name, err))
				return
			}
			paths[name] = zipPath
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	return paths, nil
}

func packageOne(ctx context.Context, compile CompileFunc, root, pkgDir, zipPath string) error {
	abs := filepath.Join(root, pkgDir)
	if sources, _ := filepath.Glob(filepath.Join(abs, "*.go")); len(sources) == 0 {
		return fmt.Errorf("no Go source in %s: each function is a main package in its own folder there", filepath.ToSlash(pkgDir))
	}
	tmp, err := os.MkdirTemp(filepath.Dir(zipPath), ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	binary := filepath.Join(tmp, "bootstrap")
	if err := compile(ctx, root, pkgDir, binary); err != nil {
		return err
	}
	return WriteZip(zipPath, binary)
}

// WriteZip writes the file at binary as the zip's only entry, "bootstrap", with mode 0755 and
// ZipModTime, replacing zipPath atomically. The same binary always gives the same bytes.
func WriteZip(zipPath, binary string) error {
	in, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	defer in.Close()

	tmp, err := os.CreateTemp(filepath.Dir(zipPath), ".zip-")
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := writeZip(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("zip %s: %w", zipPath, err)
	}
	// CreateTemp makes the file private; a build output is an ordinary readable file.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("zip %s: %w", zipPath, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("zip %s: %w", zipPath, err)
	}
	if err := os.Rename(tmp.Name(), zipPath); err != nil {
		return fmt.Errorf("zip %s: %w", zipPath, err)
	}
	return nil
}

func writeZip(w io.Writer, binary io.Reader) error {
	zw := zip.NewWriter(w)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: ZipModTime}
	// SetMode records Unix permissions; Lambda runs bootstrap only if it is executable.
	hdr.SetMode(0o755)
	entry, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(entry, binary); err != nil {
		return err
	}
	return zw.Close()
}

// FindModuleRoot returns the nearest directory at or above dir that holds go.mod.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
	}
}
