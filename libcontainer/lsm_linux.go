package libcontainer

import (
	"github.com/berthrt/berth/libcontainer/internal/lsm"
)

// processLSM returns the AppArmor profile and the SELinux label process p
// runs under: its own, or else the container's (runc's newInitConfig
// rule, for the init and for exec alike).
func (c *Container) processLSM(p *Process) (profile, label string) {
	profile, label = p.AppArmorProfile, p.Label
	if profile == "" {
		profile = c.config.AppArmorProfile
	}
	if label == "" {
		label = c.config.ProcessLabel
	}
	return profile, label
}

// checkLSM refuses to start p under a security module the host does not
// run (lsm.Host.Check says why that is runc's rule): the process must not
// start unconfined by surprise. It runs before anything is created.
func (c *Container) checkLSM(p *Process) error {
	var h lsm.Host
	return h.Check(c.processLSM(p))
}
