// Command k8s-testenv is one multi-call binary for the test control plane:
// `k8s-testenv etcd|kube-apiserver|kube-controller-manager [flags]`.
// One binary means one compile and one link (the expensive part of the build);
// each component still runs as its own process because kube-apiserver and
// kube-controller-manager keep global state (feature gates, metrics, logging).
package main

import (
	"fmt"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-testenv etcd|kube-apiserver|kube-controller-manager [flags]")
		os.Exit(2)
	}
	component, rest := os.Args[1], os.Args[2:]
	if os.Getenv("K8S_TESTENV_EXIT_WITH_PARENT") == "1" {
		go exitWithParent()
	}
	switch component {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, rest...))
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := kcm.NewControllerManagerCommand()
		cmd.SetArgs(rest)
		os.Exit(cli.Run(cmd))
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q\n", component)
		os.Exit(2)
	}
}

// exitWithParent ends this process when the test runner that started it dies
// (it is re-parented), so a crashed test run leaves no control plane behind.
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}
