// Package crd embeds the CustomResourceDefinitions that `make manifests` generates into bases/, so
// that ltvctl validates specs against exactly the schema and CEL rules the API server enforces.
// There is no copy to keep in sync: the embedded files are the generated ones.
package crd

import "embed"

// Bases holds bases/*.yaml, one CustomResourceDefinition per file.
//
//go:embed bases/*.yaml
var Bases embed.FS
