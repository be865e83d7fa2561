// kube-apiserver for netpol's test control plane: the upstream command, unchanged, at the
// release go.mod pins (k8s.io/kubernetes with its staging modules replaced at the same
// version).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"

	"example.org/netpol/testenv/internal/parentwatch"
)

func main() {
	parentwatch.Start("kube-apiserver")
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
