package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

func show(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	namespace := fs.String("n", "", "namespace (default: the kubeconfig's)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	output := fs.String("o", "table", "output format: json or table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("show: want one computation name")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if *kubeconfig != "" {
		rules.ExplicitPath = *kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return err
	}
	ns := *namespace
	if ns == "" {
		if ns, _, err = loader.Namespace(); err != nil {
			return err
		}
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	var obj v1alpha1.LTVComputation
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: fs.Arg(0)}, &obj); err != nil {
		return err
	}
	if ready := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); ready != nil {
		fmt.Fprintf(stdout, "%s/%s: Ready=%s (%s) %s\n", ns, obj.Name, ready.Status, ready.Reason, ready.Message)
	}
	if obj.Status.Result == nil {
		return fmt.Errorf("%s/%s has no result yet", ns, obj.Name)
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.Status.Result.ResultsConfigMap}, &cm); err != nil {
		return err
	}
	raw, ok := cm.Data[report.SummaryFile]
	if !ok {
		return fmt.Errorf("ConfigMap %s/%s has no %s (compressed results: read binaryData %s.gz)", ns, cm.Name, report.SummaryFile, report.SummaryFile)
	}
	var res report.Result
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return fmt.Errorf("ConfigMap %s/%s: %s: %w", ns, cm.Name, report.SummaryFile, err)
	}
	fmt.Fprintln(stdout)
	return printResult(stdout, &res, *output)
}
