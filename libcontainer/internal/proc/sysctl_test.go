package proc

import "testing"

func TestSysctlPath(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"net.ipv4.ip_forward", "net/ipv4/ip_forward", true},
		{"kernel.shmmax", "kernel/shmmax", true},
		{"net/ipv4/conf/eth0.100/forwarding", "net/ipv4/conf/eth0.100/forwarding", true},
		{"", "", false},
		{"net..ipv4", "", false},
		{".net.ipv4", "", false},
		{"net.ipv4.", "", false},
		{"net/../../self/environ", "", false},
		{"/net/ipv4", "", false},
		{"net/./ipv4", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, err := sysctlPath(tc.key)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("sysctlPath(%q) = %q, %v; want %q, ok %v", tc.key, got, err, tc.want, tc.ok)
			}
		})
	}
}
