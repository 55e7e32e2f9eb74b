package specconv

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLSMFields: the LSM labels are converted (no longer "not supported
// yet" warnings), into runc's configs fields.
func TestLSMFields(t *testing.T) {
	bundle(t)
	s := minimalSpec()
	s.Process = &specs.Process{ApparmorProfile: "berth-profile", SelinuxLabel: "system_u:system_r:container_t:s0:c1,c2"}
	s.Linux = &specs.Linux{MountLabel: "system_u:object_r:container_file_t:s0:c1,c2"}
	var buf strings.Builder
	c, err := CreateConfig(&CreateOpts{CgroupName: "c", Spec: s, Logger: slogText(&buf)})
	if err != nil {
		t.Fatal(err)
	}
	if c.AppArmorProfile != s.Process.ApparmorProfile || c.ProcessLabel != s.Process.SelinuxLabel || c.MountLabel != s.Linux.MountLabel {
		t.Errorf("config has profile %q, process label %q, mount label %q", c.AppArmorProfile, c.ProcessLabel, c.MountLabel)
	}
	for _, field := range []string{"apparmorProfile", "selinuxLabel", "mountLabel"} {
		if strings.Contains(buf.String(), field) {
			t.Errorf("log warns about %s: %q", field, buf.String())
		}
	}
}
