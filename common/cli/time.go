package cli

import (
	"strconv"
	"time"
)

// ParseTime reads docker's --since/--until forms: RFC 3339 (with or
// without a zone), Unix seconds (with fraction), or a duration before now.
// The empty string is the zero time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, Usagef("bad time %q: want RFC 3339 (2006-01-02T15:04:05Z), Unix seconds, or a duration such as 10m", s)
}
