package controllers_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ltv-operator/ltv-operator/internal/apivalidation"
	"github.com/ltv-operator/ltv-operator/internal/testutil/invalidspecs"
)

// The CRD's schema and CEL rules refuse bad specs at apply time with a message naming the field.
// The cases live in testdata/invalid-specs.yaml, which ltvctl's tests read too; each is sent as
// the document itself with strict field validation (kubectl apply's default), and the API
// server's answer is compared with ltvctl's validator (internal/apivalidation): the same specs are
// refused, naming the same fields, with the same message.
func TestInvalidSpecsAreRefused(t *testing.T) {
	ns := newNamespace(t)
	cases, err := invalidspecs.Load()
	if err != nil {
		t.Fatal(err)
	}
	validator, err := apivalidation.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			name := "invalid-" + strings.ToLower(strings.ReplaceAll(c.Name, " ", "-"))
			obj := &unstructured.Unstructured{Object: c.Object(name, ns)}
			err := k8sClient.Create(context.Background(), obj, client.FieldValidation("Strict"))
			if err == nil {
				t.Fatalf("the API server accepted %s", c.Name)
			}
			for _, w := range append(append([]string{}, c.Paths...), c.Want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// ltvctl refuses the same document for the same fields, in the same words.
			res, verr := validator.Validate(context.Background(), c.Object(name, ns))
			if verr != nil {
				t.Fatal(verr)
			}
			if res.Valid() {
				t.Fatalf("ltvctl accepts what the API server refused: %v", err)
			}
			for _, p := range res.Problems() {
				if p.Field != "" && !strings.Contains(err.Error(), p.Field) {
					t.Errorf("ltvctl names %s, the API server does not: %v", p.Field, err)
				}
			}
			if !strings.Contains(err.Error(), res.Err().Error()) {
				t.Errorf("messages differ:\n API server: %v\n ltvctl:     %v", err, res.Err())
			}
		})
	}
	// And the base spec passes, so the cases above fail for their own reason.
	base, err := invalidspecs.Base()
	if err != nil {
		t.Fatal(err)
	}
	ok := &unstructured.Unstructured{Object: (&invalidspecs.Case{Spec: base}).Object("valid", ns)}
	if err := k8sClient.Create(context.Background(), ok, client.FieldValidation("Strict")); err != nil {
		t.Fatalf("a valid spec was refused: %v", err)
	}
}
