// Package parentwatch ends a control-plane process when the test that started it is gone.
//
// A test run killed by a timeout or Ctrl-C cannot stop its children, and an orphaned etcd or
// kube-apiserver keeps ports, memory and a data directory forever. When
// NETPOL_TESTENV_EXIT_WITH_PARENT is set, Start polls the parent process id; once the
// process is re-parented (its parent exited), it exits too.
package parentwatch

import (
	"fmt"
	"os"
	"time"
)

// Start watches the parent in the background when NETPOL_TESTENV_EXIT_WITH_PARENT is set.
func Start(name string) {
	if os.Getenv("NETPOL_TESTENV_EXIT_WITH_PARENT") == "" {
		return
	}
	parent := os.Getppid()
	go func() {
		for {
			time.Sleep(500 * time.Millisecond)
			if os.Getppid() != parent {
				fmt.Fprintf(os.Stderr, "%s: parent process %d exited; exiting\n", name, parent)
				os.Exit(3)
			}
		}
	}()
}
