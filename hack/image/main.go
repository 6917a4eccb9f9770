// Command image builds the operator's container image as an OCI image layout archive, without a
// container engine: `make image` runs it on the static manager and ltvctl binaries.
//
//	go run ./hack/image -name ghcr.io/ltv-operator/ltv-operator:v0.1.0 -version v0.1.0 \
//	  -revision $(git rev-parse HEAD) -source-date-epoch $(git log -1 --format=%ct) \
//	  -manager bin/image/linux-amd64/manager -ltvctl bin/image/linux-amd64/ltvctl \
//	  -o bin/image/ltv-operator-v0.1.0.oci.tar
//
// The image has one layer with the same files as the Dockerfile's final stage (FROM scratch):
//
//	/etc/passwd, /etc/group  root, nobody and nonroot (65532), as in distroless (rootfs/etc here;
//	                         nonroot's home /home/nonroot is not created, as nothing writes there)
//	/ltvctl, /manager        the binaries, 0755
//	/tmp                     1777
//
// everything owned by 0:0. It runs as 65532:65532 with entrypoint /manager. Time zones and CA roots
// are compiled into the binaries (time/tzdata, golang.org/x/crypto/x509roots/fallback).
//
// The output is reproducible: the same binaries, flags and epoch give the same bytes and so the same
// digest. Every time in it (file times, the config's created time and history, the
// org.opencontainers.image.created label) is the source date epoch, never the clock.
//
// The archive (oci-layout, index.json, blobs/sha256/...) imports with
// `ctr -n k8s.io images import FILE` (containerd 1.6 and later), which names the image after the
// index's io.containerd.image.name annotation.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user and group files of the image; the Dockerfile copies the same files.
var (
	//go:embed rootfs/etc/passwd
	passwd []byte
	//go:embed rootfs/etc/group
	group []byte
)

const (
	user       = "65532:65532"
	entrypoint = "/manager"
	// defaultPath is the PATH the Dockerfile frontend gives an image built FROM scratch.
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

	// Annotations of the image's descriptor in index.json that name it for an import.
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// Spec is what the image is built from.
type Spec struct {
	// Name is the image's full reference with a tag, e.g. ghcr.io/ltv-operator/ltv-operator:v0.1.0.
	Name string
	// Version, Revision and Source go into the org.opencontainers.image.* labels.
	Version, Revision, Source string
	// Created is the source date epoch: every time in the image.
	Created time.Time
	// Arch is the GOARCH the binaries are built for (the OS is linux).
	Arch string
	// Manager and Ltvctl are the paths of the static binaries.
	Manager, Ltvctl string
}

// entry is one file or directory of the layer.
type entry struct {
	name string // without a leading slash; directories end in /
	mode int64  // permission bits, with c_ISVTX (01000) for the sticky bit
	data []byte // nil for a directory
}

// Build builds the image in memory.
func Build(s Spec) (v1.Image, error) {
	if s.Created.IsZero() {
		return nil, errors.New("no source date epoch")
	}
	created := v1.Time{Time: s.Created.UTC()}
	manager, err := os.ReadFile(s.Manager)
	if err != nil {
		return nil, err
	}
	ltvctl, err := os.ReadFile(s.Ltvctl)
	if err != nil {
		return nil, err
	}
	layerTar, err := tarEntries([]entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: group},
		{name: "etc/passwd", mode: 0o644, data: passwd},
		{name: "ltvctl", mode: 0o755, data: ltvctl},
		{name: "manager", mode: 0o755, data: manager},
		{name: "tmp/", mode: 0o1777},
	}, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.BestCompression),
		tarball.WithCompressedCaching,
	)
	if err != nil {
		return nil, err
	}

	labels := Labels(s)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: s.Arch,
		OS:           "linux",
		Created:      created,
		Config: v1.Config{
			User:       user,
			Entrypoint: []string{entrypoint},
			Env:        []string{defaultPath},
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "go run ./hack/image",
			Comment:   "/manager, /ltvctl, /etc/passwd, /etc/group, /tmp",
		},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels).(v1.Image), nil
}

// BuildPause builds the pod sandbox image of the e2e node (hack/node.sh): the static pause binary
// alone at /pause, running as 65535 like the upstream pause image. No registry is reachable from the
// test machine, so containerd's sandbox image is built here.
func BuildPause(binary, arch string, created time.Time) (v1.Image, error) {
	pause, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := tarEntries([]entry{{name: "pause", mode: 0o755, data: pause}}, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer),
	)
	if err != nil {
		return nil, err
	}
	t := v1.Time{Time: created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: arch, OS: "linux", Created: t,
		Config: v1.Config{User: "65535:65535", Entrypoint: []string{"/pause"}},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: t, CreatedBy: "go run ./hack/image -pause"}})
}

// Labels are the image's org.opencontainers.image.* labels, also its manifest's annotations.
func Labels(s Spec) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "ltv-operator",
		"org.opencontainers.image.source":   s.Source,
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.revision": s.Revision,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  s.Created.UTC().Format(time.RFC3339),
	}
}

// tarEntries is a tar stream of the entries in name order, with the times, owners and modes fixed.
func tarEntries(entries []entry, mtime time.Time) ([]byte, error) {
	entries = append([]entry(nil), entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: mtime.UTC().Truncate(time.Second),
			Uid:     0,
			Gid:     0,
			Uname:   "root",
			Gname:   "root",
			Format:  tar.FormatPAX,
		}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// names are the image's names for an import: the full name with a registry
// (io.containerd.image.name, as containerd normalises it) and the tag (ref.name).
func names(ref string) (full, tag string, err error) {
	t, err := name.NewTag(ref)
	if err == nil && !strings.HasSuffix(ref, ":"+t.TagStr()) {
		err = errors.New("no tag")
	}
	if err != nil {
		return "", "", fmt.Errorf("image name %q: %w (want [REGISTRY/]REPOSITORY:TAG)", ref, err)
	}
	registry := t.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return registry + "/" + t.RepositoryStr() + ":" + t.TagStr(), t.TagStr(), nil
}

// WriteArchive writes the image as an OCI image layout archive to out, named ref in index.json.
func WriteArchive(img v1.Image, ref, arch string, mtime time.Time, out string) error {
	full, tag, err := names(ref)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ltv-image-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: img,
		Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
			Annotations: map[string]string{
				annotationRefName:        tag,
				annotationContainerdName: full,
			},
		},
	})
	if _, err := layout.Write(dir, idx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".image-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tarDir(tmp, dir, mtime); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// tarDir archives the layout directory dir (files and directories only) in name order, with the
// times, owners and modes fixed.
func tarDir(w io.Writer, dir string, mtime time.Time) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h := &tar.Header{
			Name:    filepath.ToSlash(rel),
			ModTime: mtime.UTC().Truncate(time.Second),
			Format:  tar.FormatPAX,
		}
		switch {
		case d.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, info.Size()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		default:
			return fmt.Errorf("%s: not a file or directory", path)
		}
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// sourceDateEpoch is the flag's value, else $SOURCE_DATE_EPOCH, else the time of the HEAD commit.
func sourceDateEpoch(flagValue string) (time.Time, error) {
	v := flagValue
	if v == "" {
		v = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if v == "" {
		out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
		if err != nil {
			return time.Time{}, fmt.Errorf("no -source-date-epoch or $SOURCE_DATE_EPOCH, and git log failed: %w", err)
		}
		v = strings.TrimSpace(string(out))
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, fmt.Errorf("source date epoch %q: want seconds since 1970", v)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func main() {
	var s Spec
	var epoch, out, pause string
	flag.StringVar(&s.Name, "name", "", "image name with a tag, e.g. ghcr.io/ltv-operator/ltv-operator:v0.1.0 (required)")
	flag.StringVar(&s.Version, "version", "v0.0.0-dev", "version for the org.opencontainers.image.version label")
	flag.StringVar(&s.Revision, "revision", "unknown", "commit for the org.opencontainers.image.revision label")
	flag.StringVar(&s.Source, "source", "https://github.com/ltv-operator/ltv-operator", "repository URL for the org.opencontainers.image.source label")
	flag.StringVar(&s.Arch, "arch", runtime.GOARCH, "GOARCH of the binaries")
	flag.StringVar(&s.Manager, "manager", "", "static manager binary (required)")
	flag.StringVar(&s.Ltvctl, "ltvctl", "", "static ltvctl binary (required)")
	flag.StringVar(&epoch, "source-date-epoch", "", "seconds since 1970 for every time in the image (default $SOURCE_DATE_EPOCH, else the HEAD commit's time)")
	flag.StringVar(&out, "o", "", "output file, an OCI image layout archive (required)")
	flag.StringVar(&pause, "pause", "", "build the e2e node's pod sandbox image from this static pause binary instead (-manager and -ltvctl unused)")
	flag.Parse()
	if pause != "" && s.Name != "" && out != "" {
		if err := runPause(pause, s.Name, s.Arch, epoch, out); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
		return
	}
	if s.Name == "" || s.Manager == "" || s.Ltvctl == "" || out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/image -name NAME:TAG -manager FILE -ltvctl FILE -o FILE [flags]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if err := run(s, epoch, out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func runPause(binary, ref, arch, epoch, out string) error {
	created, err := sourceDateEpoch(epoch)
	if err != nil {
		return err
	}
	img, err := BuildPause(binary, arch, created)
	if err != nil {
		return err
	}
	return WriteArchive(img, ref, arch, created, out)
}

func run(s Spec, epoch, out string) error {
	created, err := sourceDateEpoch(epoch)
	if err != nil {
		return err
	}
	s.Created = created
	img, err := Build(s)
	if err != nil {
		return err
	}
	if err := WriteArchive(img, s.Name, s.Arch, created, out); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image  %s\nfile   %s\ndigest %s\n", s.Name, out, digest)
	return nil
}
