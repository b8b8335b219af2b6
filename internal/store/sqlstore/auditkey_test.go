package sqlstore

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestEventKey: a ULID takes 16 bytes, anything else a zero byte and its
// text; every key reads back as its ID, and keys sort as their IDs within
// each form, text IDs before ULIDs.
func TestEventKey(t *testing.T) {
	ulids := []string{"01KBMZ3Q4W8Y2V6N0R5T7X9A1C", "01KBMZ3Q4W8Y2V6N0R5T7X9A1D", "01KBMZ3Q4W8Y2V6N0R5T7X9A2A", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01J0000000000000000000000A"}
	texts := []string{"", "e1", "01J00000001", "01kbmz3q4w8y2v6n0r5t7x9a1c", "81KBMZ3Q4W8Y2V6N0R5T7X9A1C", "00KBMZ3Q4W8Y2V6N0R5T7X9A1C",
		"01KBMZ3Q4W8Y2V6N0R5T7X9A1I", "01KBMZ3Q4W8Y2V6N0R5T7X9A1", "évènement"}
	for _, id := range ulids {
		k := eventKey(id)
		if len(k) != 16 || k[0] == 0 {
			t.Errorf("eventKey(%q) = %x, want 16 bytes not starting with 0", id, k)
		}
		if got := eventID(k); got != id {
			t.Errorf("eventID(eventKey(%q)) = %q", id, got)
		}
	}
	for _, id := range texts {
		k := eventKey(id)
		if len(k) != 1+len(id) || k[0] != 0 {
			t.Errorf("eventKey(%q) = %x, want 0x00 and the text", id, k)
		}
		if got := eventID(k); got != id {
			t.Errorf("eventID(eventKey(%q)) = %q", id, got)
		}
	}
	for _, ids := range [][]string{ulids, texts} {
		byKey := slices.Clone(ids)
		slices.SortFunc(byKey, func(a, b string) int { return bytes.Compare(eventKey(a), eventKey(b)) })
		byID := slices.Clone(ids)
		slices.SortFunc(byID, strings.Compare)
		if !slices.Equal(byKey, byID) {
			t.Errorf("keys sort as %q, IDs as %q", byKey, byID)
		}
	}
	if bytes.Compare(eventKey("zzz"), eventKey(ulids[0])) >= 0 {
		t.Error("a text ID sorts after a ULID")
	}
}
