package table

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// arrowSchemaKey is the Parquet key-value metadata entry in which Arrow
// writers (arrow-go, pyarrow, ...) store the dataset's Arrow schema, so
// that a reader gets back types Parquet cannot express (time zones,
// dictionaries, large strings).
const arrowSchemaKey = "ARROW:schema"

// checkArrowSchema checks the structure of a stored Arrow schema (the
// value of ARROW:schema, base64 of an Arrow IPC schema message) before
// arrow-go decodes it. arrow-go trusts the lengths in the message: a
// children or metadata vector claiming billions of entries, or a huge body
// length, made it allocate that much and the process died of a fatal
// out-of-memory error, which no recover catches; a children vector
// pointing back at its own field recursed until the stack overflowed. So
// every length must fit in the bytes actually present, fields nest at
// most maxSchemaDepth deep, and the walk visits at most one field per 4
// bytes of message (each needs its own offset). This is a structural
// check, not a full flatbuffers verification: what it lets through is
// bounded by the message's size, and arrow-go's panics on it are turned
// into errors by NewParquetReader.
func checkArrowSchema(value string) error {
	b, err := decodeArrowSchema(value)
	if err != nil {
		return err
	}
	// IPC framing: an optional continuation marker, the metadata length,
	// the Message flatbuffer, then the body.
	off := 0
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0xFFFFFFFF {
		off = 4
	}
	if len(b) < off+4 {
		return errors.New("no message length")
	}
	n := int64(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	if n < 4 || n > int64(len(b)-off) {
		return fmt.Errorf("message length %d, but %d bytes follow", n, len(b)-off)
	}
	fb := fbuf{b: b[off : off+int(n)], budget: int(n) / 4}
	msg, err := fb.root()
	if err != nil {
		return err
	}
	if ht, err := fb.scalar(msg, 1, 1); err != nil {
		return err
	} else if ht != 1 { // MessageHeader.Schema
		return fmt.Errorf("message header type %d, not a schema", ht)
	}
	if body, err := fb.scalar(msg, 3, 8); err != nil {
		return err
	} else if body > uint64(len(b)-off-int(n)) {
		return fmt.Errorf("body length %d beyond the %d bytes present", int64(body), len(b)-off-int(n))
	}
	if err := fb.keyValues(msg, 4); err != nil {
		return err
	}
	schema, ok, err := fb.table(msg, 2)
	if err != nil || !ok {
		return errors.Join(errors.New("no schema in the message"), err)
	}
	if _, _, err := fb.vector(schema, 3, 8); err != nil { // features
		return err
	}
	if err := fb.keyValues(schema, 2); err != nil {
		return err
	}
	return fb.fields(schema, 1, 0)
}

// decodeArrowSchema decodes the base64 the way arrow-go does: padded if
// the length allows it, else (or if that fails) unpadded.
func decodeArrowSchema(value string) ([]byte, error) {
	var b []byte
	var err error
	if len(value)%4 == 0 {
		b, err = base64.StdEncoding.DecodeString(value)
	}
	if len(b) == 0 || err != nil {
		b, err = base64.RawStdEncoding.DecodeString(value)
	}
	return b, err
}

// maxSchemaDepth is how deeply a stored Arrow schema may nest fields.
const maxSchemaDepth = 64

// fbuf reads a flatbuffer with every position checked.
type fbuf struct {
	b      []byte
	budget int // fields the walk may still visit
}

func (f *fbuf) u32(pos int) (int, error) {
	if pos < 0 || pos > len(f.b)-4 {
		return 0, fmt.Errorf("offset %d outside the %d-byte message", pos, len(f.b))
	}
	return int(binary.LittleEndian.Uint32(f.b[pos:])), nil
}

// root returns the position of the root table.
func (f *fbuf) root() (int, error) {
	p, err := f.u32(0)
	if err != nil {
		return 0, err
	}
	return p, f.checkTable(p)
}

// checkTable checks that a table at pos has a vtable inside the buffer.
func (f *fbuf) checkTable(pos int) error {
	s, err := f.u32(pos)
	if err != nil {
		return err
	}
	vt := pos - int(int32(uint32(s)))
	if vt < 0 || vt > len(f.b)-4 {
		return fmt.Errorf("vtable at %d outside the message", vt)
	}
	if size := int(binary.LittleEndian.Uint16(f.b[vt:])); size < 4 || vt+size > len(f.b) {
		return fmt.Errorf("vtable of %d bytes at %d outside the message", size, vt)
	}
	return nil
}

// field returns the position of field slot of the table at pos, or 0 if
// the field is absent.
func (f *fbuf) field(pos, slot int) (int, error) {
	s, _ := f.u32(pos) // checked by checkTable
	vt := pos - int(int32(uint32(s)))
	size := int(binary.LittleEndian.Uint16(f.b[vt:]))
	// Present exactly when flatbuffers' own reader finds it: the slot's
	// start is inside the vtable's stated size (which may be odd).
	voff := 4 + 2*slot
	if voff >= size {
		return 0, nil
	}
	if vt+voff+2 > len(f.b) {
		return 0, fmt.Errorf("vtable at %d outside the message", vt)
	}
	fo := int(binary.LittleEndian.Uint16(f.b[vt+voff:]))
	if fo == 0 {
		return 0, nil
	}
	return pos + fo, nil
}

// scalar reads a little-endian scalar field of width bytes (0 if absent).
func (f *fbuf) scalar(pos, slot, width int) (uint64, error) {
	p, err := f.field(pos, slot)
	if err != nil || p == 0 {
		return 0, err
	}
	if p > len(f.b)-width {
		return 0, fmt.Errorf("field at %d outside the message", p)
	}
	var v uint64
	for i := width - 1; i >= 0; i-- {
		v = v<<8 | uint64(f.b[p+i])
	}
	return v, nil
}

// target follows the offset stored in field slot.
func (f *fbuf) target(pos, slot int) (int, bool, error) {
	p, err := f.field(pos, slot)
	if err != nil || p == 0 {
		return 0, false, err
	}
	o, err := f.u32(p)
	if err != nil {
		return 0, false, err
	}
	return p + o, true, nil
}

// table returns the sub-table in field slot.
func (f *fbuf) table(pos, slot int) (int, bool, error) {
	t, ok, err := f.target(pos, slot)
	if err != nil || !ok {
		return 0, false, err
	}
	return t, true, f.checkTable(t)
}

// vector returns the start and length of the vector in field slot, whose
// elements are elem bytes wide, checking that it fits in the buffer.
func (f *fbuf) vector(pos, slot, elem int) (start, n int, err error) {
	v, ok, err := f.target(pos, slot)
	if err != nil || !ok {
		return 0, 0, err
	}
	n, err = f.u32(v)
	if err != nil {
		return 0, 0, err
	}
	if int64(n)*int64(elem) > int64(len(f.b)-v-4) {
		return 0, 0, fmt.Errorf("vector of %d entries at %d does not fit in the %d-byte message", n, v, len(f.b))
	}
	return v + 4, n, nil
}

// tables calls fn for each table of the vector of tables in field slot.
func (f *fbuf) tables(pos, slot int, fn func(t int) error) error {
	start, n, err := f.vector(pos, slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		e := start + 4*i
		o, err := f.u32(e)
		if err != nil {
			return err
		}
		if err := f.checkTable(e + o); err != nil {
			return err
		}
		if err := fn(e + o); err != nil {
			return err
		}
	}
	return nil
}

// keyValues checks a custom_metadata vector of KeyValue tables.
func (f *fbuf) keyValues(pos, slot int) error {
	return f.tables(pos, slot, func(kv int) error {
		if _, _, err := f.vector(kv, 0, 1); err != nil {
			return err
		}
		_, _, err := f.vector(kv, 1, 1)
		return err
	})
}

// fields checks a vector of Field tables and, recursively, their
// children.
func (f *fbuf) fields(pos, slot, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("fields nested more than %d deep", maxSchemaDepth)
	}
	return f.tables(pos, slot, func(fld int) error {
		if f.budget--; f.budget < 0 {
			return errors.New("more fields than the message has room for")
		}
		if _, _, err := f.vector(fld, 0, 1); err != nil { // name
			return err
		}
		if tt, err := f.scalar(fld, 2, 1); err != nil {
			return err
		} else if tt == 14 { // Type.Union: its type ids are a vector
			if u, ok, err := f.table(fld, 3); err != nil {
				return err
			} else if ok {
				if _, _, err := f.vector(u, 1, 4); err != nil {
					return err
				}
			}
		} else if _, _, err := f.table(fld, 3); err != nil {
			return err
		}
		if _, _, err := f.table(fld, 4); err != nil { // dictionary
			return err
		}
		if err := f.keyValues(fld, 6); err != nil {
			return err
		}
		return f.fields(fld, 5, depth+1)
	})
}
