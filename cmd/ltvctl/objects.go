package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/apivalidation"
)

// document is one YAML document of a file.
type document struct {
	file string
	line int // of the document's first line
	obj  map[string]any
	node *yamlv3.Node // the document's root node, lines relative to the file
}

func (d *document) kind() string { s, _ := d.obj["kind"].(string); return s }

func (d *document) name() string {
	if m, ok := d.obj["metadata"].(map[string]any); ok {
		if n, _ := m["name"].(string); n != "" {
			return n
		}
		if g, _ := m["generateName"].(string); g != "" {
			return g + "*"
		}
	}
	return "(no name)"
}

// where is "file:line" of the document, or of a field in it when the field is found.
func (d *document) where(fieldPath string) string {
	line := d.line
	if fieldPath != "" && d.node != nil {
		if l := lineOf(d.node, fieldPath); l > 0 {
			line = l
		}
	}
	return d.file + ":" + strconv.Itoa(line)
}

// checked is a document of an operator kind and its validation.
type checked struct {
	doc *document
	res *apivalidation.Result
}

// objects are the documents ltvctl read, validated and decoded.
type objects struct {
	computations []v1alpha1.LTVComputation
	segments     []v1alpha1.CustomerSegment
	configMaps   map[string]corev1.ConfigMap
	checked      []checked
	others       []*document // documents of kinds ltvctl does not know
}

// refused lists the objects the API server would refuse.
func (o *objects) refused() []checked {
	var out []checked
	for _, c := range o.checked {
		if !c.res.Valid() {
			out = append(out, c)
		}
	}
	return out
}

// expandFiles lists the files of paths (directories: their *.yaml and *.yml files, sorted).
func expandFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var matches []string
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pattern))
			matches = append(matches, m...)
		}
		sort.Strings(matches)
		files = append(files, matches...)
	}
	return files, nil
}

// readDocuments splits files into YAML documents ("---" lines) and decodes each as kubectl does.
func readDocuments(paths []string) ([]*document, error) {
	files, err := expandFiles(paths)
	if err != nil {
		return nil, err
	}
	var docs []*document
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, ch := range splitDocuments(raw) {
			obj, err := apivalidation.Decode(ch.data)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, ch.line, err)
			}
			if len(obj) == 0 {
				continue // empty or only comments
			}
			d := &document{file: file, line: ch.line, obj: obj}
			var root yamlv3.Node
			if yamlv3.Unmarshal(ch.data, &root) == nil && len(root.Content) == 1 {
				d.node = root.Content[0]
				shiftLines(d.node, ch.line-1)
				d.line = d.node.Line // after leading comments
			}
			docs = append(docs, d)
		}
	}
	return docs, nil
}

type chunk struct {
	line int
	data []byte
}

// splitDocuments splits a YAML stream at its "---" separator lines.
func splitDocuments(raw []byte) []chunk {
	var out []chunk
	var cur bytes.Buffer
	start := 1
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			out = append(out, chunk{line: start, data: append([]byte(nil), cur.Bytes()...)})
			cur.Reset()
			start = n + 1
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(out, chunk{line: start, data: cur.Bytes()})
}

func shiftLines(n *yamlv3.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// lineOf finds the line of a field path ("spec.economics.acquisitionCost.values.email",
// "spec.breakdownBy[1]") in a document: the line of the deepest part of the path present.
func lineOf(root *yamlv3.Node, fieldPath string) int {
	node, line := root, root.Line
	for _, part := range splitPath(fieldPath) {
		var next *yamlv3.Node
		switch node.Kind {
		case yamlv3.MappingNode:
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == part {
					next = node.Content[i+1]
					line = node.Content[i].Line
					break
				}
			}
		case yamlv3.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(node.Content) {
				next = node.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		node = next
	}
	return line
}

// splitPath splits a field path at dots and brackets: a.b[0].c -> a, b, 0, c.
func splitPath(p string) []string {
	var out []string
	for _, dotted := range strings.Split(p, ".") {
		for dotted != "" {
			i := strings.IndexByte(dotted, '[')
			if i < 0 {
				out = append(out, dotted)
				break
			}
			if i > 0 {
				out = append(out, dotted[:i])
			}
			j := strings.IndexByte(dotted[i:], ']')
			if j < 0 {
				out = append(out, dotted[i+1:])
				break
			}
			out = append(out, dotted[i+1:i+j])
			dotted = dotted[i+j+1:]
		}
	}
	return out
}

// readObjects reads the documents of paths, validates those of the operator's kinds as the API
// server would and decodes them as it would store them (defaults applied).
func readObjects(ctx context.Context, paths []string) (*objects, error) {
	docs, err := readDocuments(paths)
	if err != nil {
		return nil, err
	}
	v, err := apivalidation.New()
	if err != nil {
		return nil, fmt.Errorf("the embedded CRDs: %w", err)
	}
	out := &objects{configMaps: map[string]corev1.ConfigMap{}}
	for _, d := range docs {
		apiVersion, _ := d.obj["apiVersion"].(string)
		switch {
		case v.Knows(apiVersion, d.kind()):
			res, err := v.Validate(ctx, d.obj)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.where(""), err)
			}
			out.checked = append(out.checked, checked{doc: d, res: res})
			if !res.Valid() {
				continue
			}
			raw, err := json.Marshal(res.Object)
			if err != nil {
				return nil, err
			}
			switch d.kind() {
			case "LTVComputation":
				var c v1alpha1.LTVComputation
				if err := json.Unmarshal(raw, &c); err != nil {
					return nil, fmt.Errorf("%s: %w", d.where(""), err)
				}
				out.computations = append(out.computations, c)
			case "CustomerSegment":
				var s v1alpha1.CustomerSegment
				if err := json.Unmarshal(raw, &s); err != nil {
					return nil, fmt.Errorf("%s: %w", d.where(""), err)
				}
				out.segments = append(out.segments, s)
			}
		case d.kind() == "ConfigMap" && apiVersion == "v1":
			raw, _ := json.Marshal(d.obj)
			var cm corev1.ConfigMap
			if err := json.Unmarshal(raw, &cm); err != nil {
				return nil, fmt.Errorf("%s: ConfigMap: %w", d.where(""), err)
			}
			out.configMaps[cm.Name] = cm
		default:
			out.others = append(out.others, d)
		}
	}
	return out, nil
}

// writeRefusals prints each refused object with its problems, one a line, with file:line.
func writeRefusals(w io.Writer, refused []checked) {
	for _, c := range refused {
		fmt.Fprintf(w, "%s: %s %s is refused:\n", c.doc.where(""), c.doc.kind(), c.doc.name())
		problems := c.res.Problems()
		line := func(i int) int { return lineOf(c.doc.node, problems[i].Field) }
		if c.doc.node != nil {
			sort.SliceStable(problems, func(i, j int) bool {
				if li, lj := line(i), line(j); li != lj {
					return li < lj
				}
				return problems[i].Message < problems[j].Message
			})
		}
		for _, p := range problems {
			fmt.Fprintf(w, "  %s: %s\n", c.doc.where(p.Field), p.Message)
		}
	}
}
