package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const testName = "ghcr.io/ltv-operator/ltv-operator:v0.1.0-test"

// testSpec is a spec for two small "binaries" written to a temporary directory.
func testSpec(t *testing.T, manager, ltvctl string) Spec {
	t.Helper()
	dir := t.TempDir()
	s := Spec{
		Name:     testName,
		Version:  "v0.1.0-test",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Source:   "https://github.com/ltv-operator/ltv-operator",
		Created:  time.Unix(1700000000, 0),
		Arch:     "amd64",
		Manager:  filepath.Join(dir, "manager"),
		Ltvctl:   filepath.Join(dir, "ltvctl"),
	}
	// Different permissions and times on disk must not show in the image.
	if err := os.WriteFile(s.Manager, []byte(manager), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Ltvctl, []byte(ltvctl), 0o640); err != nil {
		t.Fatal(err)
	}
	return s
}

func digest(t *testing.T, s Spec) v1.Hash {
	t.Helper()
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSameInputSameDigest(t *testing.T) {
	a := testSpec(t, "manager binary", "ltvctl binary")
	b := testSpec(t, "manager binary", "ltvctl binary")
	// A second copy written later, with other times on disk.
	later := time.Now().Add(time.Hour)
	for _, p := range []string{b.Manager, b.Ltvctl} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Errorf("same files, different digests: %s and %s", da, db)
	}

	// The archives are byte for byte the same too.
	dir := t.TempDir()
	var archives [2][]byte
	for i, s := range []Spec{a, b} {
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "image.oci.tar")
		if err := WriteArchive(img, s.Name, s.Arch, s.Created, out); err != nil {
			t.Fatal(err)
		}
		if archives[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("same files, different archives")
	}
}

func TestDifferentInputDifferentDigest(t *testing.T) {
	base := testSpec(t, "manager binary", "ltvctl binary")
	want := digest(t, base)
	for name, s := range map[string]Spec{
		"manager":  testSpec(t, "manager binary 2", "ltvctl binary"),
		"ltvctl":   testSpec(t, "manager binary", "ltvctl binary 2"),
		"version":  func() Spec { s := base; s.Version = "v0.1.1"; return s }(),
		"revision": func() Spec { s := base; s.Revision = "fedcba"; return s }(),
		"epoch":    func() Spec { s := base; s.Created = s.Created.Add(time.Second); return s }(),
		"arch":     func() Spec { s := base; s.Arch = "arm64"; return s }(),
	} {
		if got := digest(t, s); got == want {
			t.Errorf("another %s, same digest %s", name, got)
		}
	}
}

func TestConfig(t *testing.T) {
	s := testSpec(t, "manager binary", "ltvctl binary")
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cf.Config.User)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/manager" {
		t.Errorf("entrypoint %q, want [/manager]", cf.Config.Entrypoint)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(s.Created) {
		t.Errorf("created %v, want the epoch %v", cf.Created.Time, s.Created)
	}
	if len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(s.Created) {
		t.Errorf("history %+v, want one entry created at the epoch", cf.History)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    "ltv-operator",
		"org.opencontainers.image.source":   "https://github.com/ltv-operator/ltv-operator",
		"org.opencontainers.image.version":  "v0.1.0-test",
		"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range wantLabels {
		if got := cf.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
		if got := m.Annotations[k]; got != v {
			t.Errorf("manifest annotation %s = %q, want %q", k, got, v)
		}
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("media types: manifest %s, config %s, layers %+v; want OCI", m.MediaType, m.Config.MediaType, m.Layers)
	}
}

func TestLayerFiles(t *testing.T) {
	s := testSpec(t, "manager binary", "ltvctl binary")
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type file struct {
		typ  byte
		mode int64
		data string
	}
	want := map[string]file{
		"etc/":       {tar.TypeDir, 0o755, ""},
		"etc/group":  {tar.TypeReg, 0o644, string(group)},
		"etc/passwd": {tar.TypeReg, 0o644, string(passwd)},
		"ltvctl":     {tar.TypeReg, 0o755, "ltvctl binary"},
		"manager":    {tar.TypeReg, 0o755, "manager binary"},
		"tmp/":       {tar.TypeDir, 0o1777, ""},
	}
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected %s in the layer", h.Name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || string(data) != w.data {
			t.Errorf("%s: type %c mode %#o data %q, want type %c mode %#o data %q", h.Name, h.Typeflag, h.Mode, data, w.typ, w.mode, w.data)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		if !h.ModTime.Equal(s.Created) {
			t.Errorf("%s: mtime %v, want the epoch %v", h.Name, h.ModTime, s.Created)
		}
	}
	if len(names) != len(want) {
		t.Errorf("layer has %q, want the %d entries %v", names, len(want), want)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("layer entries not in name order: %q", names)
		}
	}
}

// The archive is an OCI image layout whose index names the image for containerd's import.
func TestArchiveIsNamedLayout(t *testing.T) {
	s := testSpec(t, "manager binary", "ltvctl binary")
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out", "image.oci.tar")
	if err := WriteArchive(img, s.Name, s.Arch, s.Created, out); err != nil {
		t.Fatal(err)
	}
	// Unpack it and read it back as a layout.
	dir := t.TempDir()
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = true
		if !h.ModTime.Equal(s.Created) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v owner %d:%d, want the epoch and 0:0", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
		default:
			t.Fatalf("%s: type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"oci-layout", "index.json", "blobs/", "blobs/sha256/"} {
		if !seen[name] {
			t.Errorf("archive has no %s", name)
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	want, _ := img.Digest()
	if desc.Digest != want || desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("index manifest %s %s, want %s %s", desc.MediaType, desc.Digest, types.OCIManifestSchema1, want)
	}
	if got := desc.Annotations["io.containerd.image.name"]; got != testName {
		t.Errorf("io.containerd.image.name = %q, want %q", got, testName)
	}
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != "v0.1.0-test" {
		t.Errorf("org.opencontainers.image.ref.name = %q, want v0.1.0-test", got)
	}
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" {
		t.Errorf("platform %+v, want linux/amd64", desc.Platform)
	}
	// Every blob the image needs is in the archive.
	back, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}

func TestNames(t *testing.T) {
	for ref, want := range map[string][2]string{
		"ghcr.io/ltv-operator/ltv-operator:v0.1.0-dev": {"ghcr.io/ltv-operator/ltv-operator:v0.1.0-dev", "v0.1.0-dev"},
		"localhost:5000/ltv:dev":                       {"localhost:5000/ltv:dev", "dev"},
		"ltv-operator:dev":                             {"docker.io/library/ltv-operator:dev", "dev"},
	} {
		full, tag, err := names(ref)
		if err != nil || full != want[0] || tag != want[1] {
			t.Errorf("names(%q) = %q, %q, %v; want %q, %q", ref, full, tag, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"ghcr.io/ltv-operator/ltv-operator", "ghcr.io/x/y@sha256:0123", "UPPER/case:v1"} {
		if _, _, err := names(bad); err == nil {
			t.Errorf("names(%q): no error", bad)
		}
	}
}
