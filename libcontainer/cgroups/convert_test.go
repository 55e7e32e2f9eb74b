package cgroups

import "testing"

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{
		0: 0, 1: 1, 2: 1, 1024: 100, 262144: 10000, 1 << 20: 10000, 512: 59, 2048: 174,
	} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	tests := []struct {
		name      string
		swap, mem int64
		want      string
		wantSet   bool
		wantErr   bool
	}{
		{"unset", 0, 100, "", false, false},
		{"memory unlimited, swap unset", 0, -1, "max", true, false},
		{"unlimited", -1, 100, "max", true, false},
		{"difference", 300, 100, "200", true, false},
		{"equal means no swap", 100, 100, "0", true, false},
		{"below memory", 50, 100, "", false, true},
		{"no memory limit", 300, 0, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, set, err := swapToV2(tt.swap, tt.mem)
			if got != tt.want || set != tt.wantSet || (err != nil) != tt.wantErr {
				t.Errorf("got %q %v %v, want %q %v error %v", got, set, err, tt.want, tt.wantSet, tt.wantErr)
			}
		})
	}
}
