// Command membench measures the manager's memory with many unrelated ConfigMaps and Secrets in
// the cluster (docs/benchmarks.md, "The manager under unrelated objects").
//
// It starts a test control plane (envtest: bin/k8s or $KUBEBUILDER_ASSETS), fills a namespace
// with -configmaps ConfigMaps and -secrets Secrets of -size bytes each that no computation
// uses, creates one small computation elsewhere, then runs the manager binary (-manager, built
// from ./cmd/manager) against it with plain-HTTP metrics. Once the computation is Ready and
// the manager settled, it reads go_memstats_heap_inuse_bytes and process_resident_memory_bytes
// from the manager's /metrics several times and prints the last sample and the peak.
//
//	go build -o /tmp/ltv-manager ./cmd/manager && go run ./hack/membench -manager /tmp/ltv-manager
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

func main() {
	manager := flag.String("manager", "", "the manager binary (go build -o /tmp/ltv-manager ./cmd/manager)")
	configMaps := flag.Int("configmaps", 2000, "unrelated ConfigMaps")
	secrets := flag.Int("secrets", 2000, "unrelated Secrets")
	size := flag.Int("size", 100*1024, "bytes of data in each")
	settle := flag.Duration("settle", 20*time.Second, "how long to sample after the computation is Ready")
	flag.Parse()
	if *manager == "" {
		fmt.Fprintln(os.Stderr, "-manager is required")
		os.Exit(2)
	}
	if err := run(*manager, *configMaps, *secrets, *size, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "membench:", err)
		os.Exit(1)
	}
}

func run(manager string, nConfigMaps, nSecrets, size int, settle time.Duration) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("bin", "k8s")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, ns := range []string{"noise", "shop"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := fill(ctx, c, nConfigMaps, nSecrets, size); err != nil {
		return err
	}
	fmt.Printf("created %d ConfigMaps and %d Secrets of %d KiB in %s\n", nConfigMaps, nSecrets, size/1024, time.Since(start).Round(time.Second))

	data, err := os.ReadFile(filepath.Join("testdata", "cdnow_sample_transactions.csv"))
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop"}, Data: map[string]string{"orders.csv": string(data)}}); err != nil {
		return err
	}
	ltv := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: "shop"},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"}},
			Observation: v1alpha1.Observation{End: "1997-09-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelBGNBD, Spend: v1alpha1.SpendGammaGamma, HorizonMonths: 12},
		},
	}
	if err := c.Create(ctx, ltv); err != nil {
		return err
	}

	user, err := env.AddUser(envtest.User{Name: "membench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "membench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(manager, "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", port), "--metrics-secure=false",
		"--health-probe-bind-address", "0", "--leader-elect=false")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kcPath, "LTV_JOB_IMAGE=membench.invalid/ltv:0")
	logFile, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	deadline := time.Now().Add(5 * time.Minute)
	for {
		var got v1alpha1.LTVComputation
		if err := c.Get(ctx, client.ObjectKeyFromObject(ltv), &got); err == nil && meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady) {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("the computation is not Ready after 5 minutes; manager log:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("computation Ready %s after the manager started\n", time.Since(started).Round(100*time.Millisecond))

	var last, peak sample
	for end := time.Now().Add(settle); time.Now().Before(end); time.Sleep(2 * time.Second) {
		s, err := scrape(port)
		if err != nil {
			return err
		}
		last = s
		peak.heap, peak.rss = max(peak.heap, s.heap), max(peak.rss, s.rss)
	}
	fmt.Printf("go_memstats_heap_inuse_bytes: %.1f MiB (peak %.1f MiB)\n", mib(last.heap), mib(peak.heap))
	fmt.Printf("process_resident_memory_bytes: %.1f MiB (peak %.1f MiB)\n", mib(last.rss), mib(peak.rss))
	return nil
}

// fill creates the unrelated objects, eight at a time.
func fill(ctx context.Context, c client.Client, nConfigMaps, nSecrets, size int) error {
	jobs := make(chan client.Object)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for obj := range jobs {
				if err := c.Create(ctx, obj); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	payload := func() string {
		b := make([]byte, size*3/4)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)[:size]
	}
	for i := range nConfigMaps {
		jobs <- &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i), Namespace: "noise"},
			Data: map[string]string{"blob": payload()}}
	}
	for i := range nSecrets {
		jobs <- &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i), Namespace: "noise"},
			StringData: map[string]string{"blob": payload()}}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

type sample struct{ heap, rss float64 }

func scrape(port int) (sample, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	var s sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "go_memstats_heap_inuse_bytes":
			s.heap = v
		case "process_resident_memory_bytes":
			s.rss = v
		}
	}
	return s, sc.Err()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mib(b float64) float64 { return b / (1 << 20) }
