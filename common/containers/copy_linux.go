package containers

import (
	"os"

	"golang.org/x/sys/unix"
)

// pseudoFSMagic are the statfs types of the kernel's pseudo file systems:
// their files are views of kernel state, not data, and their sizes lie
// (most of /proc says 0 bytes, /sys says 4096), so cp leaves them empty.
// x/sys has no names for mqueue's and configfs's magic (the kernel keeps
// them out of its uapi headers), hence the numbers.
var pseudoFSMagic = map[uint32]bool{
	unix.PROC_SUPER_MAGIC:     true,
	unix.SYSFS_MAGIC:          true,
	unix.CGROUP_SUPER_MAGIC:   true,
	unix.CGROUP2_SUPER_MAGIC:  true,
	unix.DEVPTS_SUPER_MAGIC:   true,
	0x19800202:                true, // mqueue
	0x62656570:                true, // configfs
	unix.DEBUGFS_MAGIC:        true,
	unix.TRACEFS_MAGIC:        true,
	unix.SECURITYFS_MAGIC:     true,
	unix.SELINUX_MAGIC:        true,
	unix.SMACK_MAGIC:          true,
	unix.AAFS_MAGIC:           true,
	unix.BPF_FS_MAGIC:         true,
	unix.PSTOREFS_MAGIC:       true,
	unix.EFIVARFS_MAGIC:       true,
	unix.BINFMTFS_MAGIC:       true,
	unix.BINDERFS_SUPER_MAGIC: true,
	unix.RDTGROUP_SUPER_MAGIC: true,
	unix.NSFS_MAGIC:           true,
}

// pseudoFS says whether the directory p of root is on a pseudo file
// system. It asks the file system itself, not the path: a stopped
// container's rootfs may well hold a real directory named proc, and a
// running one may mount proc anywhere.
func pseudoFS(root *os.Root, p string) bool {
	f, err := root.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return false
	}
	return pseudoFSMagic[uint32(st.Type)]
}
