package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const (
	// kubeVersion is what `helm template` and `helm lint` assume: helm built by `go install`
	// (make helm) defaults to v1.20, below the chart's kubeVersion.
	kubeVersion    = "1.37.2"
	allTogglesFile = "charts/ltv-operator/ci/all-toggles-values.yaml"
	releaseNS      = "analytics-system"
)

// helmBinary returns bin/helm (or $HELM). Without it the test skips on a workstation and fails
// in CI, where `make helm-lint` has installed it.
func helmBinary(t *testing.T) string {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		abs, err := filepath.Abs(filepath.Join(repoRoot, "bin", "helm"))
		if err != nil {
			t.Fatal(err)
		}
		helm = abs
	}
	if _, err := os.Stat(helm); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v (CI is set: run make helm first)", helm, err)
		}
		t.Skipf("%s not found (make helm); skipped outside CI", helm)
	}
	return helm
}

func runHelm(t *testing.T, helm string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm, args...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// object is one rendered manifest.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	raw []byte
}

// render runs helm template and returns the objects by "Kind/name".
func render(t *testing.T, helm string, args ...string) map[string]object {
	t.Helper()
	full := append([]string{"template", "ltv-operator", chartDir, "--namespace", releaseNS, "--kube-version", kubeVersion}, args...)
	out, err := runHelm(t, helm, full...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	objs := map[string]object{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		o.raw = []byte(doc)
		key := o.Kind + "/" + o.Metadata.Name
		if _, dup := objs[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		objs[key] = o
	}
	return objs
}

func decode[T any](t *testing.T, objs map[string]object, key string) *T {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		var keys []string
		for k := range objs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("%s not rendered; rendered: %v", key, keys)
	}
	v := new(T)
	if err := yaml.UnmarshalStrict(o.raw, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

func readRules(t *testing.T, path string) []rbacv1.PolicyRule {
	t.Helper()
	var r struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, path), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Rules) == 0 {
		t.Fatalf("%s has no rules", path)
	}
	return r.Rules
}

func appVersion(t *testing.T) string {
	t.Helper()
	var c struct {
		APIVersion string `json:"apiVersion"`
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, chartDir+"/Chart.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	if c.APIVersion != "v2" || c.Version == "" || c.AppVersion == "" {
		t.Fatalf("Chart.yaml: apiVersion %q version %q appVersion %q", c.APIVersion, c.Version, c.AppVersion)
	}
	return c.AppVersion
}

func TestHelmLint(t *testing.T) {
	helm := helmBinary(t)
	for _, values := range [][]string{nil, {"-f", allTogglesFile}} {
		args := append([]string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}, values...)
		out, err := runHelm(t, helm, args...)
		if err != nil {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestChartCRDsAreConfigs: crds/ holds exactly config/crd/bases, byte for byte (make chart).
func TestChartCRDsAreConfigs(t *testing.T) {
	want, err := filepath.Glob(filepath.Join(repoRoot, "config/crd/bases/*.yaml"))
	if err != nil || len(want) == 0 {
		t.Fatalf("config/crd/bases: %v %v", want, err)
	}
	got, err := filepath.Glob(filepath.Join(repoRoot, chartDir, "crds/*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%s/crds has %d files, config/crd/bases %d: run make chart", chartDir, len(got), len(want))
	}
	for _, w := range want {
		g := filepath.Join(repoRoot, chartDir, "crds", filepath.Base(w))
		wb, _ := os.ReadFile(w)
		gb, err := os.ReadFile(g)
		if err != nil || !bytes.Equal(wb, gb) {
			t.Errorf("%s is not a copy of %s (%v): run make chart", g, w, err)
		}
	}
}

// TestChartRBACIsConfigs: the rendered ClusterRole and leader election Role have config/rbac's
// rules, so the chart grants exactly what the +kubebuilder:rbac markers ask for.
func TestChartRBACIsConfigs(t *testing.T) {
	helm := helmBinary(t)
	objs := render(t, helm)
	role := decode[rbacv1.ClusterRole](t, objs, "ClusterRole/ltv-operator-manager")
	if want := readRules(t, "config/rbac/role.yaml"); !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("ClusterRole rules differ from config/rbac/role.yaml:\n got %+v\nwant %+v", role.Rules, want)
	}
	leader := decode[rbacv1.Role](t, objs, "Role/ltv-operator-leader-election")
	if want := readRules(t, "config/rbac/leader_election_role.yaml"); !reflect.DeepEqual(leader.Rules, want) {
		t.Errorf("leader election Role rules differ from config/rbac/leader_election_role.yaml:\n got %+v\nwant %+v", leader.Rules, want)
	}
	// Leader election needs Leases and core Events in the release namespace.
	var leases, coreEvents bool
	for _, r := range leader.Rules {
		if slices.Contains(r.APIGroups, "coordination.k8s.io") && slices.Contains(r.Resources, "leases") {
			leases = slices.Contains(r.Verbs, "create") && slices.Contains(r.Verbs, "update") && slices.Contains(r.Verbs, "get")
		}
		if slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "events") {
			coreEvents = slices.Contains(r.Verbs, "create") && slices.Contains(r.Verbs, "patch")
		}
	}
	if !leases || !coreEvents {
		t.Errorf("leader election Role: leases %v, core events %v; want both", leases, coreEvents)
	}
	binding := decode[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding/ltv-operator-manager")
	if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 ||
		binding.Subjects[0].Name != "ltv-operator" || binding.Subjects[0].Namespace != releaseNS {
		t.Errorf("ClusterRoleBinding %+v does not bind %s to the release's ServiceAccount", binding, role.Name)
	}
	// Without leader election there is no Role.
	if _, ok := render(t, helm, "--set", "leaderElection.enabled=false")["Role/ltv-operator-leader-election"]; ok {
		t.Error("leaderElection.enabled=false still renders the leader election Role")
	}
}

func TestChartDeployment(t *testing.T) {
	helm := helmBinary(t)
	version := appVersion(t)

	objs := render(t, helm)
	for key, o := range objs {
		if o.Kind == "Namespace" {
			t.Errorf("%s: the chart installs into the release namespace and creates none", key)
		}
		switch o.Kind {
		case "ClusterRole", "ClusterRoleBinding":
		default:
			if o.Metadata.Namespace != releaseNS {
				t.Errorf("%s: namespace %q, want the release's %q", key, o.Metadata.Namespace, releaseNS)
			}
		}
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
			if o.Metadata.Labels[l] == "" {
				t.Errorf("%s lacks the label %s", key, l)
			}
		}
	}
	for _, key := range []string{"ServiceMonitor/ltv-operator", "PrometheusRule/ltv-operator", "ConfigMap/ltv-operator-dashboard", "NetworkPolicy/ltv-operator"} {
		if _, ok := objs[key]; ok {
			t.Errorf("%s rendered with the default values, want it off by default", key)
		}
	}

	d := decode[appsv1.Deployment](t, objs, "Deployment/ltv-operator")
	checkRestricted(t, "default values", &d.Spec.Template.Spec)
	c := d.Spec.Template.Spec.Containers[0]
	if want := "ghcr.io/ltv-operator/ltv-operator:" + version; c.Image != want {
		t.Errorf("image %q, want %q (tag = appVersion)", c.Image, want)
	}
	if want := []string{"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
		"--default-execution=Job", "--max-jobs-per-namespace=4", "--job-ttl=3600s"}; !reflect.DeepEqual(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	var gomemlimit bool
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" {
			gomemlimit = true
		}
	}
	if !gomemlimit || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("GOMEMLIMIT from limits.memory %v, memory limit %v: want both", gomemlimit, c.Resources.Limits.Memory())
	}
	var tmp bool
	for _, m := range c.VolumeMounts {
		tmp = tmp || m.MountPath == "/tmp"
	}
	if !tmp || len(d.Spec.Template.Spec.Volumes) != 1 || d.Spec.Template.Spec.Volumes[0].EmptyDir == nil {
		t.Errorf("want /tmp on an emptyDir (read-only root filesystem); mounts %+v volumes %+v", c.VolumeMounts, d.Spec.Template.Spec.Volumes)
	}
	svc := decode[corev1.Service](t, objs, "Service/ltv-operator-metrics")
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, the pods have %q", k, v, d.Spec.Template.Labels[k])
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].Name != "metrics" {
		t.Errorf("metrics Service ports %+v", svc.Spec.Ports)
	}

	// Every toggle on: digest, watchNamespaces, extraArgs; still restricted.
	objs = render(t, helm, "-f", allTogglesFile)
	d = decode[appsv1.Deployment](t, objs, "Deployment/ltv-operator")
	checkRestricted(t, "all toggles", &d.Spec.Template.Spec)
	c = d.Spec.Template.Spec.Containers[0]
	if !strings.Contains(c.Image, "@sha256:") {
		t.Errorf("image %q, want the digest", c.Image)
	}
	if !slices.Contains(c.Args, "--watch-namespaces=shop,growth") || !slices.Contains(c.Args, "--max-concurrent-runs=4") {
		t.Errorf("args %q: want --watch-namespaces=shop,growth and the extraArgs", c.Args)
	}
	// --watch-namespaces only when the list is non-empty.
	d = decode[appsv1.Deployment](t, render(t, helm, "--set", "watchNamespaces=null"), "Deployment/ltv-operator")
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--watch-namespaces") {
			t.Errorf("empty watchNamespaces renders %q", a)
		}
	}
	d = decode[appsv1.Deployment](t, render(t, helm, "--set", "leaderElection.enabled=false"), "Deployment/ltv-operator")
	if slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
		t.Error("leaderElection.enabled=false still passes --leader-elect")
	}
	d = decode[appsv1.Deployment](t, render(t, helm, "--set", "image.tag=v9.9.9"), "Deployment/ltv-operator")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/ltv-operator/ltv-operator:v9.9.9" {
		t.Errorf("image.tag=v9.9.9 renders image %q", got)
	}
}

// checkRestricted checks a pod against the "restricted" Pod Security Standard
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/), plus a read-only root.
func checkRestricted(t *testing.T, name string, pod *corev1.PodSpec) {
	t.Helper()
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: host namespaces", name)
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if len(psc.Sysctls) > 0 {
		t.Errorf("%s: sysctls %v", name, psc.Sysctls)
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: hostPath volume %s", name, v.Name)
		}
		if v.ConfigMap == nil && v.CSI == nil && v.DownwardAPI == nil && v.EmptyDir == nil && v.Ephemeral == nil &&
			v.PersistentVolumeClaim == nil && v.Projected == nil && v.Secret == nil {
			t.Errorf("%s: volume %s is of a type restricted does not allow", name, v.Name)
		}
	}
	containers := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	if len(containers) == 0 {
		t.Fatalf("%s: no containers", name)
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: container %s has no securityContext", name, c.Name)
			continue
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s/%s: privileged", name, c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s/%s: allowPrivilegeEscalation must be false", name, c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: capabilities must drop ALL", name, c.Name)
		} else {
			for _, add := range sc.Capabilities.Add {
				if add != "NET_BIND_SERVICE" {
					t.Errorf("%s/%s: adds capability %s", name, c.Name, add)
				}
			}
		}
		nonRoot := psc.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			t.Errorf("%s/%s: runAsNonRoot must be true", name, c.Name)
		}
		uid := psc.RunAsUser
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if uid != nil && *uid == 0 {
			t.Errorf("%s/%s: runAsUser 0", name, c.Name)
		}
		seccomp := psc.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			t.Errorf("%s/%s: seccompProfile must be RuntimeDefault or Localhost, is %+v", name, c.Name, seccomp)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: want readOnlyRootFilesystem", name, c.Name)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				t.Errorf("%s/%s: hostPort %d", name, c.Name, p.HostPort)
			}
		}
	}
}

// TestChartMonitoring: with the toggles on, the PrometheusRule has config/prometheus's rules,
// the ServiceMonitor selects the metrics Service, the dashboard ConfigMap carries
// config/grafana's file and the NetworkPolicy opens only the metrics and probe ports.
func TestChartMonitoring(t *testing.T) {
	helm := helmBinary(t)
	objs := render(t, helm, "-f", allTogglesFile)

	got := parsePrometheusRule(t, objs["PrometheusRule/ltv-operator"].raw)
	want := parsePrometheusRule(t, readRepoFile(t, rulesFile))
	if !reflect.DeepEqual(got, want) {
		// Say which rule differs rather than printing both specs.
		if len(got.Groups) != len(want.Groups) {
			t.Fatalf("the chart's PrometheusRule has %d groups, %s %d", len(got.Groups), rulesFile, len(want.Groups))
		}
		for i := range want.Groups {
			g, w := got.Groups[i], want.Groups[i]
			if g.Name != w.Name || len(g.Rules) != len(w.Rules) {
				t.Errorf("group %d: chart %q with %d rules, %s %q with %d", i, g.Name, len(g.Rules), rulesFile, w.Name, len(w.Rules))
				continue
			}
			for j := range w.Rules {
				if !reflect.DeepEqual(g.Rules[j], w.Rules[j]) {
					t.Errorf("rule %s: the chart's (default values) differs from %s:\n chart: %+v\nconfig: %+v", w.Rules[j].Alert, rulesFile, g.Rules[j], w.Rules[j])
				}
			}
		}
	}
	// Thresholds come from values.
	custom := parsePrometheusRule(t, render(t, helm, "--set", "prometheusRule.enabled=true,prometheusRule.ltvDrift.percent=35,prometheusRule.ltvDrift.offset=7d,prometheusRule.ltvToCAC.min=2.5,prometheusRule.runsFailing.enabled=false")["PrometheusRule/ltv-operator"].raw)
	exprs := map[string]string{}
	for _, r := range custom.Groups[0].Rules {
		exprs[r.Alert] = r.Expr
	}
	if _, ok := exprs["LTVRunsFailing"]; ok {
		t.Error("prometheusRule.runsFailing.enabled=false still renders LTVRunsFailing")
	}
	if e := exprs["LTVAverageDrift"]; !strings.Contains(e, "> 35 / 100 *") || !strings.Contains(e, "offset 7d") {
		t.Errorf("LTVAverageDrift with percent=35, offset=7d: %s", e)
	}
	if e := exprs["LTVToCACLow"]; e != "ltv_computation_ltv_to_cac_ratio < 2.5" {
		t.Errorf("LTVToCACLow with min=2.5: %s", e)
	}
	e := newExportedMetrics(t)
	for alert, expr := range exprs {
		for _, p := range e.checkExpr(expr) {
			t.Errorf("rendered alert %s: %s", alert, p)
		}
	}

	sm := objs["ServiceMonitor/ltv-operator"]
	var monitor struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port        string `json:"port"`
				HonorLabels bool   `json:"honorLabels"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(sm.raw, &monitor); err != nil {
		t.Fatal(err)
	}
	svc := decode[corev1.Service](t, objs, "Service/ltv-operator-metrics")
	for k, v := range monitor.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, the metrics Service has %q", k, v, svc.Labels[k])
		}
	}
	if len(monitor.Spec.Endpoints) != 1 || monitor.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || !monitor.Spec.Endpoints[0].HonorLabels {
		t.Errorf("ServiceMonitor endpoints %+v: want port %s with honorLabels", monitor.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
	if sm.Metadata.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("serviceMonitor.labels not applied: %v", sm.Metadata.Labels)
	}

	cm := decode[corev1.ConfigMap](t, objs, "ConfigMap/ltv-operator-dashboard")
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard: \"1\"", cm.Labels)
	}
	if cm.Data["ltv-operator.json"] != string(readRepoFile(t, dashboardFile)) {
		t.Errorf("the dashboard ConfigMap's ltv-operator.json is not %s", dashboardFile)
	}
	cm = decode[corev1.ConfigMap](t, render(t, helm, "--set", "grafanaDashboard.enabled=true,grafanaDashboard.label=my_dashboards,grafanaDashboard.labelValue=yes,grafanaDashboard.namespace=monitoring"), "ConfigMap/ltv-operator-dashboard")
	if cm.Labels["my_dashboards"] != "yes" || cm.Namespace != "monitoring" {
		t.Errorf("grafanaDashboard.label/labelValue/namespace: labels %v namespace %s", cm.Labels, cm.Namespace)
	}

	np := decode[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy/ltv-operator")
	if len(np.Spec.Ingress) != 1 {
		t.Fatalf("NetworkPolicy ingress %+v, want one rule", np.Spec.Ingress)
	}
	var ports []string
	for _, p := range np.Spec.Ingress[0].Ports {
		ports = append(ports, p.Port.String())
	}
	if !reflect.DeepEqual(ports, []string{"metrics", "probes"}) {
		t.Errorf("NetworkPolicy ingress ports %v, want metrics and probes only", ports)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) != 3 {
		t.Errorf("NetworkPolicy egress %+v: want DNS, the API server and the extraEgress rule", np.Spec.Egress)
	}
	var dns bool
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			dns = dns || p.Port.IntValue() == 53
		}
	}
	if !dns {
		t.Error("NetworkPolicy egress does not allow DNS")
	}
}

// TestChartRejectsBadValues: values.schema.json and the templates refuse wrong values.
func TestChartRejectsBadValues(t *testing.T) {
	helm := helmBinary(t)
	base := []string{"template", "ltv-operator", chartDir, "--namespace", releaseNS, "--kube-version", kubeVersion}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set-string", "replicaCount=two"}, "replicaCount"},
		{[]string{"--set", "replicas=2"}, "replicas"}, // not a value: additionalProperties false
		{[]string{"--set", "image.pullPolicy=Sometimes"}, "pullPolicy"},
		{[]string{"--set", "image.digest=latest"}, "digest"},
		{[]string{"--set", "prometheusRule.ltvDrift.offset=yesterday"}, "offset"},
		{[]string{"--set", "prometheusRule.ltvToCAC.min=three"}, "min"},
		{[]string{"--set", "replicaCount=2,leaderElection.enabled=false"}, "leaderElection"},
		{[]string{"--set", "serviceAccount.create=false"}, "serviceAccount.name"},
	} {
		out, err := runHelm(t, helm, append(base, tc.args...)...)
		if err == nil {
			t.Errorf("helm template %v succeeded, want an error", tc.args)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("helm template %v: error does not mention %s:\n%s", tc.args, tc.want, out)
		}
	}
	// The chart's kubeVersion: CRD validation rules need 1.25.
	if out, err := runHelm(t, helm, "template", "ltv-operator", chartDir, "--kube-version", "1.24.0"); err == nil {
		t.Error("helm template for Kubernetes 1.24 succeeded, want the kubeVersion constraint to refuse it")
	} else if !strings.Contains(out, "kubeVersion") {
		t.Errorf("Kubernetes 1.24: %s", out)
	}
	if out, err := runHelm(t, helm, "template", "ltv-operator", chartDir, "--kube-version", "1.25.0"); err != nil {
		t.Errorf("Kubernetes 1.25: %v\n%s", err, out)
	}
}

// TestInstallerPinsRelease: dist/install.yaml (make build-installer) runs the image of the
// chart's appVersion in the restricted ltv-operator-system namespace.
func TestInstallerPinsRelease(t *testing.T) {
	version := appVersion(t)
	raw := string(readRepoFile(t, "dist/install.yaml"))
	var image string
	var ns *corev1.Namespace
	var dep *appsv1.Deployment
	var svc *corev1.Service
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(raw, -1) {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		switch o.Kind {
		case "Namespace":
			ns = new(corev1.Namespace)
			if err := yaml.Unmarshal([]byte(doc), ns); err != nil {
				t.Fatal(err)
			}
		case "Deployment":
			dep = new(appsv1.Deployment)
			if err := yaml.Unmarshal([]byte(doc), dep); err != nil {
				t.Fatal(err)
			}
			image = dep.Spec.Template.Spec.Containers[0].Image
		case "Service":
			svc = new(corev1.Service)
			if err := yaml.Unmarshal([]byte(doc), svc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := "ghcr.io/ltv-operator/ltv-operator:" + version; image != want {
		t.Errorf("dist/install.yaml runs %q, want %q: run make build-installer", image, want)
	}
	if ns == nil || ns.Name != "ltv-operator-system" || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("dist/install.yaml namespace %+v: want ltv-operator-system enforcing restricted", ns)
	}
	if dep == nil || dep.Namespace != "ltv-operator-system" {
		t.Fatal("dist/install.yaml has no Deployment in ltv-operator-system")
	}
	checkRestricted(t, "dist/install.yaml", &dep.Spec.Template.Spec)

	// config/prometheus's ServiceMonitor, in the same namespace, selects this metrics Service.
	var monitor struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port string `json:"port"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "config/prometheus/servicemonitor.yaml"), &monitor); err != nil {
		t.Fatal(err)
	}
	if svc == nil || len(monitor.Spec.Selector.MatchLabels) == 0 {
		t.Fatalf("dist/install.yaml Service %v, ServiceMonitor selector %v", svc, monitor.Spec.Selector.MatchLabels)
	}
	for k, v := range monitor.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("config/prometheus/servicemonitor.yaml selects %s=%s; the metrics Service in dist/install.yaml has %q", k, v, svc.Labels[k])
		}
	}
	if len(monitor.Spec.Endpoints) != 1 || len(svc.Spec.Ports) != 1 || monitor.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor endpoints %+v, Service ports %+v", monitor.Spec.Endpoints, svc.Spec.Ports)
	}
}

// TestChartJobExecution: the chart defaults to Job mode, tells the manager its own image for the
// runs, and with rbac.readSecrets=false grants no Secret and says so to the manager.
func TestChartJobExecution(t *testing.T) {
	helm := helmBinary(t)
	args := func(objs map[string]object) (string, map[string]string) {
		d := decode[appsv1.Deployment](t, objs, "Deployment/ltv-operator")
		c := d.Spec.Template.Spec.Containers[0]
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		return strings.Join(c.Args, " "), env
	}
	objs := render(t, helm, "--set", "image.tag=v9.9.9")
	a, env := args(objs)
	if !strings.Contains(a, "--default-execution=Job") || strings.Contains(a, "--read-secrets") {
		t.Errorf("default args: %s", a)
	}
	if !strings.HasSuffix(env["LTV_JOB_IMAGE"], ":v9.9.9") {
		t.Errorf("LTV_JOB_IMAGE %q is not the manager's image", env["LTV_JOB_IMAGE"])
	}
	objs = render(t, helm, "--set", "rbac.readSecrets=false", "--set", "execution.default=InProcess", "--set", "execution.jobImage=other:1")
	a, env = args(objs)
	if !strings.Contains(a, "--read-secrets=false") || !strings.Contains(a, "--default-execution=InProcess") || env["LTV_JOB_IMAGE"] != "other:1" {
		t.Errorf("args %s, LTV_JOB_IMAGE %q", a, env["LTV_JOB_IMAGE"])
	}
	role := decode[rbacv1.ClusterRole](t, objs, "ClusterRole/ltv-operator-manager")
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "secrets") {
			t.Errorf("rbac.readSecrets=false still grants %v on secrets", r.Verbs)
		}
	}
	if len(role.Rules) != len(readRules(t, "config/rbac/role.yaml"))-1 {
		t.Errorf("rbac.readSecrets=false dropped more than the Secrets rule: %+v", role.Rules)
	}
}
