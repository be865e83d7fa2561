// etcd for netpol's test control plane: the etcd server at the version kube-apiserver's
// client is built against (go.mod pins both), with etcd's own command line.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"

	"example.org/netpol/testenv/internal/parentwatch"
)

func main() {
	parentwatch.Start("etcd")
	etcdmain.Main(os.Args)
}
