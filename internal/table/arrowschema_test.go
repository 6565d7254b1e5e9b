package table

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arrowSchemas are schemas as real writers store them: every kind of
// nesting, dictionaries, unions, time zones and metadata.
func arrowSchemas() []*arrow.Schema {
	md := arrow.NewMetadata([]string{"origin", "note"}, []string{"register", "synthetic"})
	return []*arrow.Schema{
		arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true}}, nil),
		arrow.NewSchema([]arrow.Field{
			{Name: "fnr", Type: arrow.BinaryTypes.LargeString},
			{Name: "visit", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Oslo"}, Nullable: true},
			{Name: "dx", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}},
			{Name: "person", Type: arrow.StructOf(
				arrow.Field{Name: "code", Type: arrow.BinaryTypes.String},
				arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "k", Type: arrow.PrimitiveTypes.Int32}))},
			), Metadata: md},
			{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64)},
			{Name: "u", Type: arrow.SparseUnionOf([]arrow.Field{
				{Name: "i", Type: arrow.PrimitiveTypes.Int64},
				{Name: "s", Type: arrow.BinaryTypes.String},
			}, []arrow.UnionTypeCode{3, 7})},
		}, &md),
	}
}

func encodedSchema(s *arrow.Schema) []byte {
	return flight.SerializeSchema(s, memory.NewGoAllocator())
}

// message returns a reader of the Message flatbuffer in an encoded schema.
func message(t *testing.T, b []byte) (*fbuf, int) {
	t.Helper()
	require.Equal(t, uint32(0xFFFFFFFF), binary.LittleEndian.Uint32(b))
	n := int(binary.LittleEndian.Uint32(b[4:]))
	f := &fbuf{b: b[8 : 8+n], budget: n}
	msg, err := f.root()
	require.NoError(t, err)
	return f, msg
}

// firstField returns the position of field i of the schema.
func firstField(t *testing.T, f *fbuf, msg, i int) int {
	t.Helper()
	schema, ok, err := f.table(msg, 2)
	require.True(t, ok)
	require.NoError(t, err)
	start, n, err := f.vector(schema, 1, 4)
	require.NoError(t, err)
	require.Greater(t, n, i)
	o, err := f.u32(start + 4*i)
	require.NoError(t, err)
	return start + 4*i + o
}

func TestCheckArrowSchemaAcceptsRealSchemas(t *testing.T) {
	for _, s := range arrowSchemas() {
		b := encodedSchema(s)
		assert.NoError(t, checkArrowSchema(base64.StdEncoding.EncodeToString(b)))
		assert.NoError(t, checkArrowSchema(base64.RawStdEncoding.EncodeToString(b)), "unpadded, as some writers store it")
	}
}

// vectorLength sets the length of vector slot of the schema's field 3 to n.
func vectorLength(slot int, n uint32) func(t *testing.T, b []byte) {
	return func(t *testing.T, b []byte) {
		f, msg := message(t, b)
		v, ok, err := f.target(firstField(t, f, msg, 3), slot)
		require.True(t, ok)
		require.NoError(t, err)
		binary.LittleEndian.PutUint32(f.b[v:], n)
	}
}

// TestCheckArrowSchemaRefuses damages a stored schema in the ways that made
// arrow-go allocate without bound or recurse forever.
func TestCheckArrowSchemaRefuses(t *testing.T) {
	nested := arrowSchemas()[1] // field 3 is a struct with children
	tests := []struct {
		name   string
		damage func(t *testing.T, b []byte)
	}{
		{"children count beyond the message", vectorLength(5, 0x40000000)},
		{"metadata count beyond the message", vectorLength(6, 0x7fffffff)},
		{"a field that is its own child", func(t *testing.T, b []byte) {
			f, msg := message(t, b)
			fld := firstField(t, f, msg, 3)
			start, _, err := f.vector(fld, 5, 4)
			require.NoError(t, err)
			binary.LittleEndian.PutUint32(f.b[start:], uint32(fld-start))
		}},
		{"message length beyond the bytes present", func(t *testing.T, b []byte) {
			binary.LittleEndian.PutUint32(b[4:], 1<<30)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodedSchema(nested)
			tt.damage(t, b)
			assert.Error(t, checkArrowSchema(base64.StdEncoding.EncodeToString(b)))
		})
	}
	// Found by FuzzParquetReader: the schema's vtable states an odd size
	// (9 bytes), and flatbuffers reads the metadata slot that starts at
	// byte 8 of it. Its vector claims 4,294,967,260 entries.
	odd, err := hex.DecodeString("ffffffff9d00000010000000d34d0a000d34d34d090004000a0000001000000034017d34080034d34d0004001800000004000000020000003c00000004000000dcffffff1000000010000000000005010c00000000000000ccffffff01000000620000001000140010000f000e000800000004001000000010000000140000000000050110000000000000000400040004000000010000006100000000000000ffffffff00000000")
	require.NoError(t, err)
	assert.ErrorContains(t, checkArrowSchema(base64.StdEncoding.EncodeToString(odd)), "4294967260 entries")

	// Every truncation is refused or harmless, never a panic.
	b := encodedSchema(nested)
	for n := range len(b) {
		checkArrowSchema(base64.StdEncoding.EncodeToString(b[:n]))
	}
}

// TestParquetStoredSchemaRoundTrip writes a Parquet file whose stored
// Arrow schema has time zones and dictionaries, and reads it back through
// NewParquetReader: the check lets it through and the types survive.
func TestParquetStoredSchemaRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "visit", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Oslo"}, Nullable: true},
		{Name: "dx", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	}, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(s, &buf, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.NotNil(t, pf.MetaData().KeyValueMetadata().FindValue(arrowSchemaKey), "the writer stored the schema")
	pf.Close()

	pr, err := NewParquetReader(bytes.NewReader(buf.Bytes()), 0, mem)
	require.NoError(t, err)
	defer pr.Close()
	assert.Equal(t, "Europe/Oslo", pr.Schema().Field(0).Type.(*arrow.TimestampType).TimeZone)
	assert.Equal(t, arrow.DICTIONARY, pr.Schema().Field(1).Type.ID())
}

// FuzzArrowSchema: whatever checkArrowSchema lets through, arrow-go decodes
// without running out of memory or stack (an error or a panic is fine:
// NewParquetReader turns both into ErrNotParquet).
func FuzzArrowSchema(f *testing.F) {
	for _, s := range arrowSchemas() {
		f.Add(encodedSchema(s))
	}
	mem := memory.NewGoAllocator()
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkArrowSchema(base64.StdEncoding.EncodeToString(b)) != nil {
			return
		}
		func() {
			defer func() { recover() }()
			flight.DeserializeSchema(b, mem)
		}()
	})
}
