package gofunc_test

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/components/gofunc"
)

// testPackager packages the fixtures under testdata with the real go tool.
func testPackager(t *testing.T) *gofunc.Packager {
	t.Helper()
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return &gofunc.Packager{Root: root, SourceDir: "components/gofunc/testdata", OutDir: t.TempDir()}
}

// TestPackageIsDeterministicLinuxArm64 really builds: twice, byte-identical, and the single
// entry is an executable linux/arm64 "bootstrap".
func TestPackageIsDeterministicLinuxArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles a binary")
	}
	p := testPackager(t)
	first, err := p.Package(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	firstBytes, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	p.OutDir = t.TempDir()
	second, err := p.Package(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	secondBytes, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(firstBytes, secondBytes) {
		t.Fatal("two builds of the same source differ")
	}

	zr, err := zip.NewReader(bytes.NewReader(firstBytes), int64(len(firstBytes)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries = %v, want only bootstrap", zr.File)
	}
	entry := zr.File[0]
	if mode := entry.Mode(); mode.Perm() != 0o755 || !mode.IsRegular() {
		t.Errorf("bootstrap mode = %v, want -rwxr-xr-x", mode)
	}
	if !entry.Modified.Equal(gofunc.ZipModTime) {
		t.Errorf("modified = %v, want %v", entry.Modified, gofunc.ZipModTime)
	}
	rc, err := entry.Open()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("bootstrap is not ELF: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap is %v %v %v, want a 64-bit arm64 executable", f.Machine, f.Class, f.Type)
	}
	if f.Section(".interp") != nil {
		t.Error("bootstrap is dynamically linked; want static (CGO_ENABLED=0)")
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap keeps its symbol table; want -s")
	}
}

func TestPackageMissingSource(t *testing.T) {
	p := testPackager(t)
	p.Compile = func(context.Context, string, string, string) error {
		t.Error("compile called for a missing function")
		return nil
	}
	_, err := p.PackageAll(context.Background(), []string{"nosuchfunction", "another"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`function "nosuchfunction"`, `function "another"`, "components/gofunc/testdata/nosuchfunction"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPackageAllRunsInParallel(t *testing.T) {
	root := t.TempDir()
	p := &gofunc.Packager{Root: root}
	names := []string{"one", "two", "three"}
	for _, n := range names {
		dir := filepath.Join(root, "functions", n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.Parallel = len(names)
	started := make(chan struct{}, len(names))
	release := make(chan struct{})
	p.Compile = func(_ context.Context, _, pkgDir, out string) error {
		started <- struct{}{}
		<-release // every build must be running at once for all to get here
		return os.WriteFile(out, []byte("fake "+filepath.Base(pkgDir)), 0o755)
	}
	go func() {
		for range names {
			<-started
		}
		close(release)
	}()
	paths, err := p.PackageAll(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if paths[n] != filepath.Join(root, ".build", "functions", n+".zip") {
			t.Errorf("%s -> %q", n, paths[n])
		}
	}
}

func TestWriteZipIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("bootstrap"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	var zips [][]byte
	for _, name := range []string{"a.zip", "b.zip"} {
		path := filepath.Join(dir, name)
		if err := gofunc.WriteZip(path, bin); err != nil {
			t.Fatal(err)
		}
		// A different file time must not change the zip.
		if err := os.Chtimes(bin, gofunc.ZipModTime, gofunc.ZipModTime); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zips = append(zips, b)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Error("same input, different zips")
	}
}
