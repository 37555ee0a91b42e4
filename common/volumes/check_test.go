package volumes

import "testing"

func TestTrashOwner(t *testing.T) {
	for in, want := range map[string]string{
		".trash-data-0a1b2c3d":   "data",
		".trash-my-vol-0a1b2c3d": "my-vol",
		".trash-a-b-c-0a1b2c3d":  "a-b-c",
		".trash-nodash":          "nodash",
	} {
		if got := trashOwner(in); got != want {
			t.Errorf("trashOwner(%q) = %q, want %q", in, got, want)
		}
	}
}
