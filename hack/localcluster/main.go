// Command localcluster starts a local control plane (etcd and kube-apiserver from bin/k8s, the
// same binaries the tests use), installs the CRDs, writes an admin kubeconfig and runs until
// interrupted. `make demo` uses it; so can anyone who wants to try the operator without a cluster.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", "", "where to write the admin kubeconfig (required)")
	assets := flag.String("assets", "bin/k8s", "directory with etcd, kube-apiserver and kubectl")
	crds := flag.String("crds", "config/crd/bases", "directory with the CRDs to install")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "localcluster: -write-kubeconfig is required")
		os.Exit(2)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: *assets,
		CRDDirectoryPaths:     []string{*crds},
		ErrorIfCRDPathMissing: true,
	}
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster: starting the control plane:", err)
		os.Exit(1)
	}
	code := run(env, *kubeconfig)
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster: stopping:", err)
	}
	os.Exit(code)
}

func run(env *envtest.Environment, kubeconfig string) int {
	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		return 1
	}
	data, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		return 1
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		return 1
	}
	// Written last and atomically: its presence tells scripts the control plane is up.
	tmp := kubeconfig + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil || os.Rename(tmp, kubeconfig) != nil {
		fmt.Fprintln(os.Stderr, "localcluster: writing the kubeconfig failed")
		return 1
	}
	fmt.Fprintf(os.Stderr, "localcluster: control plane up, KUBECONFIG=%s\n", kubeconfig)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = os.Remove(kubeconfig)
	return 0
}
