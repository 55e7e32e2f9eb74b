package notify

import "testing"

func TestIsReady(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"READY=1", true},
		{"READY=1\n", true},
		{"STATUS=starting\nREADY=1\nMAINPID=7\n", true},
		{"STATUS=READY=1", false},
		{"READY=10\n", false},
		{"READY=0\n", false},
		{" READY=1\n", false},
		{"READY=1\r\n", false},
		{"", false},
		{"STATUS=foo\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := isReady([]byte(tt.msg)); got != tt.want {
				t.Errorf("isReady(%q) = %v, want %v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestReadyMessage(t *testing.T) {
	if got, want := string(readyMessage(4242)), "READY=1\nMAINPID=4242\n"; got != want {
		t.Errorf("readyMessage = %q, want %q", got, want)
	}
}
