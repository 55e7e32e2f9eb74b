package proc

import (
	"slices"
	"testing"
)

func TestSetupEnv(t *testing.T) {
	const path = "PATH=/usr/bin:/bin"
	home := &User{Home: "/root"}
	tests := []struct {
		name string
		env  []string
		u    *User
		want []string
	}{
		{"non-empty HOME is used", []string{path, "HOME=/override"}, home, []string{path, "HOME=/override"}},
		{"empty HOME is overridden", []string{path, "HOME="}, home, []string{path, "HOME=/root"}},
		{"empty HOME overrides an earlier one and is overridden", []string{path, "HOME=/override", "HOME="}, home, []string{path, "HOME=/root"}},
		{"HOME is set only once", []string{"HOME=", path}, home, []string{path, "HOME=/root"}},
		{"override keeps the last value, even empty", []string{"ONE=two", "ONE=", path}, home, []string{"ONE=", path, "HOME=/root"}},
		{"override takes the last position", []string{"ONE=two", "TWO=2", "ONE=three", path}, home, []string{"TWO=2", "ONE=three", path, "HOME=/root"}},
		{"value with newline and equals kept", []string{"NEW_LINE_ENV=\n", "A=b=c", path}, home, []string{"NEW_LINE_ENV=\n", "A=b=c", path, "HOME=/root"}},
		{"PATH defaults", []string{"A=1"}, home, []string{"A=1", "PATH=" + DefaultPath, "HOME=/root"}},
		{"empty PATH is kept", []string{"PATH="}, home, []string{"PATH=", "HOME=/root"}},
		{"nil env", nil, home, []string{"PATH=" + DefaultPath, "HOME=/root"}},
		{"no user means HOME=/", []string{path}, nil, []string{path, "HOME=/"}},
		{"user without home means HOME=/", []string{path}, &User{}, []string{path, "HOME=/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.env)
			got := SetupEnv(tc.env, tc.u)
			if !slices.Equal(got, tc.want) {
				t.Errorf("SetupEnv(%q) = %q, want %q", tc.env, got, tc.want)
			}
			if !slices.Equal(in, tc.env) {
				t.Errorf("SetupEnv modified its input: %q", tc.env)
			}
		})
	}
}

func TestCheckEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantErr string
	}{
		{"valid", []string{"A=1", "B=", "C=x=y"}, ""},
		{"missing equals", []string{"A=1", "NOPE"}, `invalid environment variable "NOPE": missing '='`},
		{"empty name", []string{"=x"}, `invalid environment variable "=x": name cannot be empty`},
		{"nul byte", []string{"A=x\x00y"}, `invalid environment variable "A": contains nul byte (\x00)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEnv(tc.env)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckEnv: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("CheckEnv = %v, want %s", err, tc.wantErr)
			}
		})
	}
}
