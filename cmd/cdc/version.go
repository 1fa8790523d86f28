package main

import "runtime/debug"

// version is set at build time with -ldflags "-X main.version=..."; left
// at "dev", the build's own information names the version (see
// buildVersion).
var version = "dev"

// buildVersion is the version `cdc version` prints and events carry in
// source.version.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(version, bi, ok)
}

// versionFrom picks, in order: a version set with -ldflags; the module
// version of a `go install module@version` build; the VCS revision the
// binary was built from ("dev-<12 hex>", "-dirty" with uncommitted
// changes); "dev".
func versionFrom(ldflag string, bi *debug.BuildInfo, ok bool) string {
	if ldflag != "" && ldflag != "dev" {
		return ldflag
	}
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
