// Package version is the version of this build of the manager and ltvctl.
//
// Version and Revision are stamped at link time, as `make build`, `make image` and the Dockerfile
// do:
//
//	go build -ldflags "-X github.com/ltv-operator/ltv-operator/internal/version.Version=v0.1.0 \
//	  -X github.com/ltv-operator/ltv-operator/internal/version.Revision=$(git rev-parse HEAD)"
//
// An unstamped build (go build, go run, go test) reports the defaults below, except that the
// revision falls back to the VCS information the go command embeds when it has any, and the
// version to the module version of a `go install ...@version`.
package version

import (
	"runtime/debug"
)

// Set with -ldflags -X; see the package documentation.
var (
	// Version is the release, e.g. v0.1.0, or `git describe --tags --dirty` output between releases.
	Version = defaultVersion
	// Revision is the full commit hash the build is from.
	Revision = defaultRevision
)

const (
	defaultVersion  = "v0.0.0-dev"
	defaultRevision = "unknown"
)

// Info is the version of the running binary.
type Info struct {
	Version  string
	Revision string
}

// Get returns the stamped version and revision, filling unstamped ones from the build
// information the go command embeds.
func Get() Info {
	info := Info{Version: Version, Revision: Revision}
	if info.Version != defaultVersion && info.Revision != defaultRevision {
		return info
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if info.Version == defaultVersion && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Revision == defaultRevision {
		var rev string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			if modified {
				rev += "-dirty"
			}
			info.Revision = rev
		}
	}
	return info
}

// String is the one-line form the binaries print: "v0.1.0 (revision 0123abcd…)".
func (i Info) String() string {
	return i.Version + " (revision " + i.Revision + ")"
}

// String is Get().String().
func String() string { return Get().String() }
