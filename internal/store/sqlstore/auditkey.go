package sqlstore

// The audit log's key for an event ID (migration 0010 computes the same in
// SQL for the rows it copies): a ULID — 26 characters of Crockford base32,
// upper case, as the audit package makes them — is stored as its 16 bytes;
// any other ID as a zero byte followed by its text. Both forms compare
// byte-wise as their IDs compare as strings, so ORDER BY id and the Before
// cursor work on keys; IDs of another shape sort before every ULID. ULIDs
// of a time before November 2004 (whose first byte would be zero) take the
// text form, so the two forms never collide.

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// crockfordValue maps a byte to its base32 value, or 0xff.
func crockfordValue(c byte) byte {
	for i := range len(crockford) {
		if crockford[i] == c {
			return byte(i)
		}
	}
	return 0xff
}

// eventKey returns the stored key of an event ID.
func eventKey(id string) []byte {
	if len(id) == 26 && id[0] <= '7' && id[:2] != "00" {
		var hi, lo uint64 // the 130-bit value's low 128 bits
		ok := true
		for i := range 26 {
			v := crockfordValue(id[i])
			if v == 0xff {
				ok = false
				break
			}
			hi = hi<<5 | lo>>59
			lo = lo<<5 | uint64(v)
		}
		if ok {
			var k [16]byte
			for i := range 8 {
				k[i] = byte(hi >> (56 - 8*i))
				k[8+i] = byte(lo >> (56 - 8*i))
			}
			return k[:]
		}
	}
	k := make([]byte, 1+len(id))
	copy(k[1:], id)
	return k
}

// eventID returns the event ID of a stored key.
func eventID(k []byte) string {
	if len(k) == 0 || k[0] == 0 {
		if len(k) == 0 {
			return ""
		}
		return string(k[1:])
	}
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(k[i])
		lo = lo<<8 | uint64(k[8+i])
	}
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
