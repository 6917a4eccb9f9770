// Package apivalidation checks objects of the operator's kinds the way the API server does when
// they are created with strict field validation (`kubectl apply`'s default): every field the schema
// does not declare is reported, the object is pruned and defaulted by the structural schema, then
// validated by the OpenAPI schema and by the CEL x-kubernetes-validations rules, with the API
// server's own code (k8s.io/apiextensions-apiserver) and the CRDs the binary embeds
// (config/crd/bases). Field paths and messages are therefore the API server's: a spec this package
// accepts is accepted by `kubectl apply`, and one it refuses is refused for the same field.
//
// It is, with the source and sink adapters, one of the internal packages that import Kubernetes:
// validating Kubernetes objects is its purpose.
package apivalidation

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"sort"
	"strings"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/ltv-operator/ltv-operator/config/crd"
)

// Validator validates objects of the kinds of a set of CustomResourceDefinitions.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kind
}

type kind struct {
	gk         schema.GroupKind
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
	hasStatus  bool
}

// New returns a Validator for the CRDs embedded in the binary (config/crd/bases).
func New() (*Validator, error) {
	return FromFS(crd.Bases, "bases/*.yaml")
}

// FromFS reads every CustomResourceDefinition of the files matching pattern.
func FromFS(fsys fs.FS, pattern string) (*Validator, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition matches %s", pattern)
	}
	// The CRDs compile side by side (their CEL rules are most of a command's start-up).
	compiled := make([]map[schema.GroupVersionKind]*kind, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := fs.ReadFile(fsys, name)
			if err == nil {
				compiled[i], err = compile(raw)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", path.Base(name), err)
			}
		}()
	}
	wg.Wait()
	v := &Validator{kinds: map[schema.GroupVersionKind]*kind{}}
	for i := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		maps.Copy(v.kinds, compiled[i])
	}
	return v, nil
}

// compile compiles one CRD's served versions as the API server's handler does.
func compile(raw []byte) (map[schema.GroupVersionKind]*kind, error) {
	kinds := map[schema.GroupVersionKind]*kind{}
	var def apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &def); err != nil {
		return nil, err
	}
	for i := range def.Spec.Versions {
		ver := &def.Spec.Versions[i]
		if !ver.Served || ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			continue
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(ver.Schema, internal, nil); err != nil {
			return nil, fmt.Errorf("version %s: %w", ver.Name, err)
		}
		s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("version %s: the schema is not structural: %w", ver.Name, err)
		}
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return nil, fmt.Errorf("version %s: %w", ver.Name, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("version %s: %w", ver.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: def.Spec.Group, Version: ver.Name, Kind: def.Spec.Names.Kind}
		kinds[gvk] = &kind{
			gk:         gvk.GroupKind(),
			namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped,
			structural: s,
			schema:     sv,
			cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
			hasStatus:  ver.Subresources != nil && ver.Subresources.Status != nil,
		}
	}
	return kinds, nil
}

// Knows reports whether the Validator has a schema for apiVersion and kind.
func (v *Validator) Knows(apiVersion, kindName string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false
	}
	_, ok := v.kinds[gv.WithKind(kindName)]
	return ok
}

// Kinds lists the known kinds as "Kind (group/version)".
func (v *Validator) Kinds() []string {
	var out []string
	for gvk := range v.kinds {
		out = append(out, fmt.Sprintf("%s (%s)", gvk.Kind, gvk.GroupVersion()))
	}
	sort.Strings(out)
	return out
}

// Result is the outcome of validating one object.
type Result struct {
	GroupKind schema.GroupKind
	Name      string
	// UnknownFields are the paths of every field the schema does not declare, as the API server
	// names them with strict field validation (kubectl's default), sorted.
	UnknownFields []string
	// Errors are the schema and CEL validation errors, with the API server's field paths and
	// messages, of the object without its unknown fields.
	Errors field.ErrorList
	// Object is the object as the API server would store it: unknown fields pruned, defaults
	// applied, status removed.
	Object map[string]any
}

// Valid reports whether the API server would accept the object.
func (r *Result) Valid() bool { return len(r.UnknownFields) == 0 && len(r.Errors) == 0 }

// Err is nil for a valid object; otherwise it reads as the API server's answers: the strict
// decoding error listing every unknown field, then the Invalid error with every field error.
func (r *Result) Err() error {
	if r.Valid() {
		return nil
	}
	var parts []string
	if len(r.UnknownFields) > 0 {
		errs := make([]error, len(r.UnknownFields))
		for i, f := range r.UnknownFields {
			errs[i] = fmt.Errorf("unknown field %q", f)
		}
		parts = append(parts, runtime.NewStrictDecodingError(errs).Error())
	}
	if len(r.Errors) > 0 {
		parts = append(parts, apierrors.NewInvalid(r.GroupKind, r.Name, r.Errors).Error())
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// Problems lists every problem on its own line: "unknown field \"spec.foo\"" and
// "spec.source: Invalid value: ...", in the API server's words.
func (r *Result) Problems() []Problem {
	var out []Problem
	for _, f := range r.UnknownFields {
		out = append(out, Problem{Field: f, Message: fmt.Sprintf("unknown field %q", f)})
	}
	for _, e := range r.Errors {
		out = append(out, Problem{Field: e.Field, Message: e.Error()})
	}
	return out
}

// Problem is one reason an object is refused.
type Problem struct {
	// Field is the path of the field ("spec.economics.grossMargin"), empty for the whole object.
	Field string
	// Message is the API server's message, starting with the field path.
	Message string
}

// Validate checks obj (a decoded YAML or JSON document) as the API server checks a create request
// with fieldValidation=Strict. obj is not modified. An error means the object is not of a known
// kind or cannot be read at all.
func (v *Validator) Validate(ctx context.Context, obj map[string]any) (*Result, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kindName, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	k, ok := v.kinds[gv.WithKind(kindName)]
	if !ok {
		return nil, fmt.Errorf("no schema for kind %q in apiVersion %q (known: %s)", kindName, apiVersion, strings.Join(v.Kinds(), ", "))
	}
	// A copy with the API server's JSON numbers: int64 when integral, float64 otherwise.
	u, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	res := &Result{GroupKind: k.gk}

	// Decoding (the handler's unstructuredSchemaCoercer): metadata, pruning, coercion.
	meta, hasMeta, unknownMeta, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	res.UnknownFields = append(res.UnknownFields, unknownMeta...)
	res.UnknownFields = append(res.UnknownFields, structuralpruning.PruneWithOptions(u, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u, k.structural)
	ferr, unknownEmbedded := schemaobjectmeta.CoerceWithOptions(nil, u, k.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	res.UnknownFields = append(res.UnknownFields, unknownEmbedded...)
	sort.Strings(res.UnknownFields)
	if ferr != nil {
		res.Errors = append(res.Errors, ferr)
	}
	if hasMeta {
		res.Name = meta.Name
		if err := schemaobjectmeta.SetObjectMeta(u, meta); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	u["apiVersion"], u["kind"] = apiVersion, kindName

	// Defaulting, then PrepareForCreate (status cannot be set on create).
	structuraldefaulting.Default(u, k.structural)
	if k.hasStatus {
		delete(u, "status")
	}

	// Validation (the strategy's Validate).
	if hasMeta {
		m := *meta
		if k.namespaced && m.Namespace == "" {
			m.Namespace = "default" // kubectl fills in the namespace of the context
		}
		res.Errors = append(res.Errors, metavalidation.ValidateObjectMeta(&m, k.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	} else {
		res.Errors = append(res.Errors, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	}
	res.Errors = append(res.Errors, apiservervalidation.ValidateCustomResource(nil, u, k.schema)...)
	res.Errors = append(res.Errors, schemaobjectmeta.Validate(ctx, nil, u, k.structural, false)...)
	res.Errors = append(res.Errors, listtype.ValidateListSetsAndMaps(nil, k.structural, u)...)
	if blocked := blockingError(res.Errors); blocked != nil {
		res.Errors = append(res.Errors, blocked)
	} else {
		errs, _ := k.cel.Validate(ctx, nil, k.structural, u, nil, celconfig.RuntimeCELCostBudget)
		res.Errors = append(res.Errors, errs...)
	}
	res.Object = u
	return res, nil
}

func normalize(obj map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("the object cannot be encoded as JSON: %w", err)
	}
	var out map[string]any
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Decode reads one YAML or JSON document as kubectl sends it (YAML converted to JSON).
func Decode(doc []byte) (map[string]any, error) {
	raw, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// blockingError is the API server's reason not to run the CEL rules: errors after which the
// rules' inputs cannot be trusted.
func blockingError(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}
