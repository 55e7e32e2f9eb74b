// Package specconv turns an OCI runtime spec (runtime-spec v1.3.0, the
// config.json of a bundle) into a configs.Config, the normalised description
// that libcontainer runs. It also holds the defaults a runc-compatible
// runtime applies: the device list every container gets (AllowedDevices) and
// the spec that `berth spec` writes (Example, ToRootless).
//
// CreateConfig reads no files and makes no system calls beyond getcwd(2): the
// bundle directory is the current working directory, as for runc, so a
// relative root.path and relative bind-mount sources are taken from it. Every
// conversion error is a *configs.FieldError naming the offending field in OCI
// spelling ("mounts[2].options", "linux.namespaces[1].type"). The result is
// not yet checked against the host: call its Validate method before use.
//
// The spec's process object (args, env, cwd, user, terminal) is not part of a
// configs.Config, exactly as in runc: the caller builds the init process from
// it. Spec fields that configs.Config cannot express yet (intelRdt,
// personality, memoryPolicy, netDevices, the process's scheduler, ioPriority
// and execCPUAffinity) are reported through the logger and otherwise
// ignored.
//
// Do not use this package to edit a Config after creation: it converts whole
// specs only.
package specconv
