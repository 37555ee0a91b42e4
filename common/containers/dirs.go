package containers

import "path/filepath"

// Dir is where lepton keeps what it has of container id outside
// containerd (its log, its /etc files, its network plan):
// <data-root>/containers/<namespace>/<id>.
func Dir(dataRoot, namespace, id string) string {
	return filepath.Join(DirsRoot(dataRoot, namespace), id)
}

// DirsRoot is the directory holding every container Dir of namespace.
func DirsRoot(dataRoot, namespace string) string {
	return filepath.Join(dataRoot, "containers", namespace)
}
